package display

import (
	"fmt"

	"github.com/advlab/advlab/lib/gan"
	"github.com/advlab/advlab/lib/viz"
)

// GANDashboard watches a lib/gan training run in one live notebook output: the latest fixed-noise
// grid, the D and G losses and D(x) / D(G(z)) so far, and a progress line. Pass its Step and
// Snapshot methods as gan.TrainOptions' OnStep and OnSnapshot, and call Done after training.
type GANDashboard struct {
	dashboard *Dashboard
	total     int
	start     int
	losses    *viz.Chart
	scores    *viz.Chart
}

// NewGANDashboard starts a dashboard for a run that will reach totalSteps generator updates,
// starting from startStep (non-zero after a resume).
func NewGANDashboard(title string, startStep, totalSteps int) *GANDashboard {
	return &GANDashboard{
		dashboard: NewDashboard(title), total: totalSteps, start: startStep,
		losses: &viz.Chart{Title: "Losses", XLabel: "step", YLabel: "loss",
			Series: []viz.Series{{Name: "D"}, {Name: "G"}}},
		scores: &viz.Chart{Title: "Discriminator outputs", XLabel: "step", YLabel: "mean probability",
			Series: []viz.Series{{Name: "D(x)"}, {Name: "D(G(z))"}}},
	}
}

// Step records one step's metrics (gan.TrainOptions.OnStep).
func (d *GANDashboard) Step(m gan.StepMetrics) {
	x := float64(m.Step)
	for i, y := range []float64{m.DLoss, m.GLoss} {
		d.losses.Series[i].X = append(d.losses.Series[i].X, x)
		d.losses.Series[i].Y = append(d.losses.Series[i].Y, y)
	}
	for i, y := range []float64{m.DReal, m.DFakeBefore} {
		d.scores.Series[i].X = append(d.scores.Series[i].X, x)
		d.scores.Series[i].Y = append(d.scores.Series[i].Y, y)
	}
	d.dashboard.Update(Update{Step: m.Step, Total: d.total, StartStep: d.start,
		Scalars: []Scalar{{Name: "d_loss", Value: m.DLoss}, {Name: "g_loss", Value: m.GLoss},
			{Name: "D(x)", Value: m.DReal}, {Name: "D(G(z))", Value: m.DFakeBefore}},
		Charts: []*viz.Chart{d.losses, d.scores}})
}

// Snapshot shows a new fixed-noise grid (gan.TrainOptions.OnSnapshot).
func (d *GANDashboard) Snapshot(s gan.Snapshot) {
	grid, err := viz.Grid(s.Samples, len(s.Samples)/(s.Height*s.Width*s.Channels), s.Height, s.Width, s.Channels,
		viz.GridOptions{Range: &[2]float32{-1, 1}, Scale: 2})
	if err != nil {
		Markdown(fmt.Sprintf("grid: %v", err))
		return
	}
	d.dashboard.Update(Update{Step: s.Step, Total: d.total, StartStep: d.start, Grid: grid})
}

// Done renders the final state.
func (d *GANDashboard) Done() { d.dashboard.Done() }
