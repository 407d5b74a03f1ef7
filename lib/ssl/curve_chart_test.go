package ssl

import (
	"strings"
	"testing"
)

func TestCurveChartsTellRunsApart(t *testing.T) {
	av := 0.2
	point := func(epoch int, err float64) CurvePoint {
		return CurvePoint{Epoch: epoch, Step: 600 * epoch, TestErr: err, TestErrAv: &av}
	}
	long := &Curve{Implementation: "advlab", Arch: "mlp", Seed: 1, Epochs: []CurvePoint{point(1, 0.3), point(2, 0.2), point(3, 0.1)}}
	short := &Curve{Implementation: "advlab", Seed: 1, Epochs: []CurvePoint{point(1, 0.3)}}
	conv := &Curve{Implementation: "advlab", Arch: "conv", Seed: 2, Epochs: []CurvePoint{point(1, 0.25), point(2, 0.15)}}
	charts := CurveCharts([]*Curve{long, short, conv}, true, true)
	if len(charts) != 3 {
		t.Fatalf("%d charts, want 3", len(charts))
	}
	current := charts[2].Series
	want := []string{"advlab seed 1, 3 epochs", "advlab seed 1, 1 epoch", "advlab conv seed 2, 2 epochs"}
	for i, s := range current {
		if s.Name != want[i] {
			t.Errorf("series %d is named %q, want %q", i, s.Name, want[i])
		}
	}
	if got := current[0].Y; len(got) != 3 || got[2] != 10 {
		t.Errorf("the long run's current-weight errors %v (%%), want 3 points ending at 10", got)
	}
	// The reference's average is absent from these points: no values, and no made-up ones.
	if n := len(charts[0].Series[0].Y); n != 0 {
		t.Errorf("%d reference-average points from curves without that field, want 0", n)
	}
	if !strings.Contains(charts[1].Title, "advlab's average") || len(charts[1].Series[0].Y) != 3 {
		t.Errorf("the advlab-average chart %q has %d points for the long run, want 3", charts[1].Title, len(charts[1].Series[0].Y))
	}
}
