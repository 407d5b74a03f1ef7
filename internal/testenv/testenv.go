// Package testenv lets a test stop for a missing dependency honestly: a skip on a developer's
// machine, a failure under CI=true, where `make test` installs every dependency the project can
// install (the MNIST data, ONNX Runtime, the XLA CPU plugin) before the tests run, so a missing one
// means a broken set-up, not an optional feature.
package testenv

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true, as CI services and `.ci/run` set it).
func InCI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v == "true" || v == "1" || v == "yes"
}

// Missing stops the test because a dependency the project installs is missing: t.Skip outside CI,
// t.Fatal under CI=true. what says what is missing and which make target installs it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true: make test installs this before the tests, so its absence is a failure, not a skip)", msg)
	}
	t.Skip(msg)
}

// UnreachableEnv names the variable `make test` sets when the package index did not answer, so the
// XLA CPU plugin could not be installed (its value is the installer's reason).
const UnreachableEnv = "ADVLAB_PJRT_UNREACHABLE"

// MissingPlugin stops a test that needs the XLA CPU plugin `make pjrt` installs: a skip where the
// package index was unreachable (UnreachableEnv) or outside CI, a failure under CI=true otherwise.
func MissingPlugin(t testing.TB, format string, args ...any) {
	t.Helper()
	if why := os.Getenv(UnreachableEnv); why != "" {
		t.Skipf("%s (the XLA CPU plugin could not be installed: %s)", fmt.Sprintf(format, args...), why)
	}
	Missing(t, format, args...)
}
