package main

import (
	"errors"
	"strings"
	"testing"
)

func TestDataCommandErrors(t *testing.T) {
	cache := t.TempDir()
	for _, tc := range []struct {
		args  []string
		usage bool
		want  string
	}{
		{nil, true, "expected a subcommand, one of fetch, info"},
		{[]string{"pull", "mnist"}, true, "expected a subcommand"},
		{[]string{"fetch"}, true, "expected a dataset NAME, one of cifar10, fashion, mnist, usps"},
		{[]string{"fetch", "-dir", cache, "mnsit"}, true, `unknown dataset "mnsit": expected one of cifar10, fashion, mnist, usps`},
		{[]string{"info", "mnist", "extra"}, true, "expected one dataset NAME"},
		{[]string{"fetch", "-bogus", "mnist"}, true, "flag provided but not defined"},
		// Offline with an empty cache: a plain error (exit 1) that names the missing files.
		{[]string{"fetch", "-dir", cache, "-offline", "usps"}, false, "usps.bz2, usps.t.bz2"},
		{[]string{"fetch", "-dir", cache, "cifar10", "-offline"}, false, "cifar-10-binary.tar.gz"},
	} {
		err := runData(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("advlab data %v: error %v, want one containing %q", tc.args, err, tc.want)
			continue
		}
		if errors.Is(err, errUsage) != tc.usage {
			t.Errorf("advlab data %v: usage error %v, want %v (%v)", tc.args, errors.Is(err, errUsage), tc.usage, err)
		}
	}
}

func TestDataInfoOnEmptyCache(t *testing.T) {
	if err := runData([]string{"info", "-dir", t.TempDir(), "mnist"}); err != nil {
		t.Errorf("info on an empty cache: %v, want a description saying what is missing", err)
	}
	if status := run([]string{"data", "fetch", "-dir", t.TempDir(), "-offline", "fashion"}); status != 1 {
		t.Errorf("exit status %d for an offline fetch of a missing dataset, want 1", status)
	}
	if status := run([]string{"data", "fetch", "nope"}); status != 2 {
		t.Errorf("exit status %d for an unknown dataset, want 2", status)
	}
}
