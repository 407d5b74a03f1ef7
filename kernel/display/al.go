package display

import (
	"fmt"

	"github.com/advlab/advlab/lib/active"
	"github.com/advlab/advlab/lib/viz"
)

// ALDashboard watches an active-learning run in one live notebook output: the learning curves so
// far (test accuracy against labels, mean ± std over the repeats done) and a progress line counting
// rounds. NewALDashboard hooks it into the Runner's OnRound; call Done after Run.
type ALDashboard struct {
	dashboard  *Dashboard
	config     active.Config
	records    []active.Record
	total      int
	onRoundWas func(active.Record)
}

// NewALDashboard starts a dashboard for runner, replacing its OnRound with one that updates the
// dashboard and then calls the previous OnRound, if any.
func NewALDashboard(title string, runner *active.Runner) *ALDashboard {
	d := &ALDashboard{dashboard: NewDashboard(title), config: runner.Config, onRoundWas: runner.OnRound,
		total: len(runner.Config.Strategies) * runner.Config.Repeats * (runner.Config.Rounds + 1)}
	runner.OnRound = d.Round
	return d
}

// Round records one round (active.Runner.OnRound).
func (d *ALDashboard) Round(rec active.Record) {
	d.records = append(d.records, rec)
	results := active.Results{Config: d.config, Curves: active.Curves(d.config.Strategies, d.records)}
	d.dashboard.Update(Update{Step: len(d.records), Total: d.total, Charts: []*viz.Chart{results.Chart()},
		Scalars: []Scalar{{Name: fmt.Sprintf("%s#%d labels", rec.Strategy, rec.Repeat+1), Value: float64(rec.Labels)},
			{Name: "accuracy", Value: rec.Accuracy}}})
	if d.onRoundWas != nil {
		d.onRoundWas(rec)
	}
}

// Done renders the final state.
func (d *ALDashboard) Done() { d.dashboard.Done() }
