package testenv

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Variables copies the float32 variables of store (weights, optimiser moments, running
// statistics) by path, for tests that compare two trainers' states value by value.
func Variables(store *model.Store) map[string][]float32 {
	out := map[string][]float32{}
	for v := range store.IterVariables() {
		if value, err := v.Value(); err == nil && value.Shape().DType.String() == "Float32" {
			out[v.Path()] = tensors.MustCopyFlatData[float32](value)
		}
	}
	return out
}

// Near fails the test (t.Errorf) when got differs from want by more than tolerance relative to
// 1+|want|; what names the quantity, against names what want is ("one device").
func Near(t testing.TB, what, against string, got, want, tolerance float64) {
	t.Helper()
	if math.Abs(got-want) > tolerance*(1+math.Abs(want)) {
		t.Errorf("%s: %g, %s %g", what, got, against, want)
	}
}

// SameVariables checks that the stores' float32 variables got and want (from Variables) are the
// same set and agree value by value within tolerance (see Near); it stops the test at a missing
// or extra variable.
func SameVariables(t testing.TB, against string, got, want map[string][]float32, tolerance float64) {
	t.Helper()
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("%d variables, %s %d", len(got), against, len(want))
	}
	for path, w := range want {
		g, found := got[path]
		if !found || len(g) != len(w) {
			t.Fatalf("variable %s: %d values, %s %d", path, len(g), against, len(w))
		}
		for i := range w {
			Near(t, path, against, float64(g[i]), float64(w[i]), tolerance)
		}
	}
}
