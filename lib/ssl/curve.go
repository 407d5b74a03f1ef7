package ssl

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/advlab/advlab/lib/viz"
)

// CurveFormat names the JSON layout of a Curve. `advlab train ssl` writes it (DIR/curve.json) and
// so does the PyTorch port of openai/improved-gan's MNIST script
// (scripts/reference/improved_gan_mnist.py), so that the two runs can be plotted side by side.
const CurveFormat = "advlab-ssl-curve/1"

// Curve is a semi-supervised run's test error after every epoch, with what produced it.
type Curve struct {
	Format string `json:"format"`
	// Implementation says what trained: "advlab" or "reference-port".
	Implementation string `json:"implementation"`
	// Backend is the compute path ("xla:cpu", "go", "torch 2.5.1 cpu", ...).
	Backend string `json:"backend"`
	// Arch, Dataset, Labels, Seed and BatchSize describe the run.
	Arch      string `json:"arch"`
	Dataset   string `json:"dataset"`
	Labels    int    `json:"labels"`
	Seed      uint64 `json:"seed"`
	BatchSize int    `json:"batch_size"`
	// LearningRate, AdamEpsilon and AdamEpsilonInsideRoot are the optimiser's settings;
	// AverageRate and ReferenceAverageRate those of the two weight averages (0: not kept).
	LearningRate          float64 `json:"learning_rate"`
	AdamEpsilon           float64 `json:"adam_epsilon"`
	AdamEpsilonInsideRoot bool    `json:"adam_epsilon_inside_root"`
	AverageRate           float64 `json:"average_rate"`
	ReferenceAverageRate  float64 `json:"reference_average_rate"`
	// Command is how to reproduce (or, with -resume, continue) the run.
	Command string       `json:"command,omitempty"`
	Epochs  []CurvePoint `json:"epochs"`
}

// CurvePoint is one epoch's result. The test errors are fractions (0.0093 is the paper's 0.93%);
// an average that is not kept is absent.
type CurvePoint struct {
	Epoch     int      `json:"epoch"`
	Step      int      `json:"step"`
	LossLab   float64  `json:"loss_lab"`
	LossUnl   float64  `json:"loss_unl"`
	TrainErr  float64  `json:"train_err"`
	TestErr   float64  `json:"test_err"`
	TestErrAv *float64 `json:"test_err_average,omitempty"`
	// TestErrRefAv is the error of the reference's own average (from zeros, rate 1e-4 there), the
	// number openai/improved-gan prints.
	TestErrRefAv *float64 `json:"test_err_reference_average,omitempty"`
	// Seconds is the epoch's training time (evaluation excluded).
	Seconds float64 `json:"seconds"`
}

// CurveOf turns a trainer's per-epoch metrics (evaluated on a test set: TrainOptions.Test) into
// curve points; epochs without a test evaluation are left out.
func CurveOf(epochs []EpochMetrics) []CurvePoint {
	var points []CurvePoint
	for _, e := range epochs {
		if e.Test == nil {
			continue
		}
		p := CurvePoint{Epoch: e.Epoch, Step: e.Step, LossLab: e.LossLab, LossUnl: e.LossUnl, TrainErr: e.TrainError,
			TestErr: e.Test.ErrorRate, Seconds: e.Seconds}
		if a := e.Test.Averaged; a != nil {
			p.TestErrAv = &a.ErrorRate
		}
		if a := e.Test.ReferenceAveraged; a != nil {
			p.TestErrRefAv = &a.ErrorRate
		}
		points = append(points, p)
	}
	return points
}

// Validate reports the first thing in c that is not a well-formed curve, naming it.
func (c *Curve) Validate() error {
	if c.Format != CurveFormat {
		return fmt.Errorf("format %q, want %q", c.Format, CurveFormat)
	}
	if c.Implementation == "" {
		return errors.New("no implementation named")
	}
	if len(c.Epochs) == 0 {
		return errors.New("no epochs")
	}
	rate := func(x float64) bool { return x >= 0 && x <= 1 && !math.IsNaN(x) }
	for i, p := range c.Epochs {
		switch {
		case p.Epoch < 1 || (i > 0 && p.Epoch <= c.Epochs[i-1].Epoch):
			return fmt.Errorf("epochs[%d]: epoch %d, want increasing epochs from 1", i, p.Epoch)
		case !rate(p.TestErr) || (p.TestErrAv != nil && !rate(*p.TestErrAv)) ||
			(p.TestErrRefAv != nil && !rate(*p.TestErrRefAv)):
			return fmt.Errorf("epochs[%d] (epoch %d): a test error outside [0, 1]", i, p.Epoch)
		}
	}
	return nil
}

// ReadCurve reads and validates a curve file.
func ReadCurve(path string) (*Curve, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Curve
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: not a curve file (%s JSON): %w", path, CurveFormat, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Name names the run in a legend: the implementation, the architecture where it is not the
// reference's MLP, and the seed ("advlab conv seed 1").
func (c *Curve) Name() string {
	if c.Arch != "" && c.Arch != "mlp" {
		return fmt.Sprintf("%s %s seed %d", c.Implementation, c.Arch, c.Seed)
	}
	return fmt.Sprintf("%s seed %d", c.Implementation, c.Seed)
}

// CurveCharts plots curves as `advlab curves` does: one chart for the reference's weight average
// (the number openai/improved-gan prints), one for advlab's average and one for the current weights,
// each with the test error (%) against the epoch and a line per curve, named by Curve.Name and its
// last epoch. logX and logY make the epoch and the error axes logarithmic (a 300-epoch run beside
// 5-epoch ones, errors from 30% down to 1%). Lay them out with viz.ChartRow.
func CurveCharts(curves []*Curve, logX, logY bool) []*viz.Chart {
	panels := []struct {
		title string
		value func(CurvePoint) *float64
	}{
		{"Reference's average (from zeros, rate 1e-4)", func(p CurvePoint) *float64 { return p.TestErrRefAv }},
		{"advlab's average (rate 1e-3)", func(p CurvePoint) *float64 { return p.TestErrAv }},
		{"Current weights", func(p CurvePoint) *float64 { e := p.TestErr; return &e }},
	}
	charts := make([]*viz.Chart, len(panels))
	for i, panel := range panels {
		chart := &viz.Chart{Title: panel.title, XLabel: "epoch", YLabel: "test error (%)", LogX: logX, LogY: logY}
		for _, c := range curves {
			s := viz.Series{Name: c.Name()}
			if n := len(c.Epochs); n > 0 {
				// A long run and a short one of the same seed get told apart by their length.
				last := c.Epochs[n-1].Epoch
				s.Name += fmt.Sprintf(", %d epoch", last)
				if last != 1 {
					s.Name += "s"
				}
			}
			for _, p := range c.Epochs {
				if v := panel.value(p); v != nil {
					s.X, s.Y = append(s.X, float64(p.Epoch)), append(s.Y, 100**v)
				}
			}
			chart.Series = append(chart.Series, s)
		}
		charts[i] = chart
	}
	return charts
}
