package metrics

import (
	"math"
	"strings"
	"testing"
)

func TestCoverage(t *testing.T) {
	uniform := make([]int, 10000)
	for i := range uniform {
		uniform[i] = i % 10
	}
	r := Coverage(uniform, 10, DefaultMinFraction)
	if r.ClassesCovered != 10 || math.Abs(r.KLFromUniform) > 1e-12 || r.Samples != 10000 || r.Histogram[3] != 1000 {
		t.Errorf("uniform labels: %v, want 10 classes covered, KL 0, 1000 per class", r)
	}

	oneClass := make([]int, 500)
	for i := range oneClass {
		oneClass[i] = 7
	}
	r = Coverage(oneClass, 10, DefaultMinFraction)
	if r.ClassesCovered != 1 || math.Abs(r.KLFromUniform-math.Log(10)) > 1e-12 || r.Histogram[7] != 500 {
		t.Errorf("one class: %v, want 1 class covered and KL = ln 10 = %.6f", r, math.Log(10))
	}

	// Two classes at 50% minus a few strays: strays below 1% are not coverage.
	var mixed []int
	for i := range 1000 {
		switch {
		case i < 5:
			mixed = append(mixed, 2) // 0.5%
		case i < 20:
			mixed = append(mixed, 9) // 1.5%
		case i%2 == 0:
			mixed = append(mixed, 0)
		default:
			mixed = append(mixed, 1)
		}
	}
	r = Coverage(append(mixed, -1, 10), 10, DefaultMinFraction)
	if r.ClassesCovered != 3 || r.OutOfRange != 2 || r.Samples != 1000 {
		t.Errorf("mixed: %v, want classes 0, 1 and 9 covered (2 at 0.5%% is not) and 2 labels out of range", r)
	}
	// KL by hand: p = (0.49, 0.49, 0.005, 0.015), KL = Σ p·ln(10p).
	want := 0.0
	for _, p := range []float64{0.49, 0.49, 0.005, 0.015} {
		want += p * math.Log(10*p)
	}
	if math.Abs(r.KLFromUniform-want) > 1e-12 {
		t.Errorf("mixed: KL = %.12g, want %.12g", r.KLFromUniform, want)
	}
	if !strings.Contains(r.String(), "3/10 classes covered") {
		t.Errorf("String() = %q", r.String())
	}

	if r := Coverage(nil, 10, DefaultMinFraction); r.ClassesCovered != 0 || r.KLFromUniform != 0 || len(r.Histogram) != 10 {
		t.Errorf("no labels: %v", r)
	}
}
