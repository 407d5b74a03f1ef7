package display

import (
	"fmt"
	"image"

	"github.com/advlab/advlab/lib/vae"
	"github.com/advlab/advlab/lib/viz"
)

// VAEDashboard watches a lib/vae training run in one live notebook output: the latest
// reconstructions and samples, the loss terms so far (reconstruction, KL, −ELBO per step, and the
// test −ELBO per epoch) and a progress line. Pass its Step, Epoch and Snapshot methods as
// vae.TrainOptions' OnStep, OnEpoch and OnSnapshot, and call Done after training.
type VAEDashboard struct {
	dashboard *Dashboard
	total     int
	start     int
	losses    *viz.Chart
}

// NewVAEDashboard starts a dashboard for a run that will reach totalSteps updates, starting from
// startStep (non-zero after a resume).
func NewVAEDashboard(title string, startStep, totalSteps int) *VAEDashboard {
	return &VAEDashboard{
		dashboard: NewDashboard(title), total: totalSteps, start: startStep,
		losses: &viz.Chart{Title: "Loss per image (nats)", XLabel: "step", YLabel: "nats",
			Series: []viz.Series{{Name: "−ELBO (train)"}, {Name: "reconstruction"}, {Name: "KL"}, {Name: "−ELBO (test)"}}},
	}
}

// Step records one step's metrics (vae.TrainOptions.OnStep).
func (d *VAEDashboard) Step(m vae.StepMetrics) {
	x := float64(m.Step)
	for i, y := range []float64{m.NegELBO(), m.Reconstruction, m.KL} {
		d.losses.Series[i].X = append(d.losses.Series[i].X, x)
		d.losses.Series[i].Y = append(d.losses.Series[i].Y, y)
	}
	d.dashboard.Update(Update{Step: m.Step, Total: d.total, StartStep: d.start,
		Scalars: []Scalar{{Name: "-elbo", Value: m.NegELBO()}, {Name: "recon", Value: m.Reconstruction}, {Name: "kl", Value: m.KL}},
		Charts:  []*viz.Chart{d.losses}})
}

// Epoch records an epoch's test −ELBO (vae.TrainOptions.OnEpoch).
func (d *VAEDashboard) Epoch(e vae.EpochMetrics) {
	if e.Test == nil {
		return
	}
	test := &d.losses.Series[3]
	test.X = append(test.X, float64(e.Step))
	test.Y = append(test.Y, e.Test.NegELBO)
	d.dashboard.Update(Update{Step: e.Step, Total: d.total, StartStep: d.start,
		Scalars: []Scalar{{Name: "epoch", Value: float64(e.Epoch)}, {Name: "test -elbo", Value: e.Test.NegELBO}}})
}

// Snapshot shows the latest reconstructions: each row holds test images followed by their
// reconstructions (vae.TrainOptions.OnSnapshot).
func (d *VAEDashboard) Snapshot(s vae.Snapshot) {
	recon, err := VAEGrid(s.Reconstructions)
	if err != nil {
		Markdown(fmt.Sprintf("reconstructions: %v", err))
		return
	}
	d.dashboard.Update(Update{Step: s.Step, Total: d.total, StartStep: d.start, Grid: recon})
}

// Done renders the final state.
func (d *VAEDashboard) Done() { d.dashboard.Done() }

// VAEGrid lays out a batch of decoder outputs (values in [0, 1]) as a grid, with the batch's
// PerRow images per row when it sets one.
func VAEGrid(b vae.ImageBatch) (image.Image, error) {
	return viz.Grid(b.Values, b.N, b.Height, b.Width, b.Channels, viz.GridOptions{PerRow: b.PerRow, Range: &[2]float32{0, 1}, Scale: 2})
}
