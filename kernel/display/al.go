package display

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/advlab/advlab/lib/active"
	"github.com/advlab/advlab/lib/backend"
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

// RunExperiment runs e (or continues it from e.Out) on the default backend with a live
// ALDashboard titled with the task and the strategies. The notebook's interrupt button stops it
// after the current round: the finished rounds are saved in e.Out (running the cell again
// continues), RunExperiment says so and returns the results so far without an error.
func RunExperiment(e active.Experiment) (*active.Results, error) {
	b, _, err := backend.New()
	if err != nil {
		return nil, err
	}
	runner, err := e.Runner(b)
	if err != nil {
		return nil, err
	}
	ctx, stop := InterruptContext()
	defer stop()
	dashboard := NewALDashboard(fmt.Sprintf("%s: %s", runner.Task, strings.Join(e.Strategies, " vs ")), runner)
	results, err := runner.Run(ctx)
	dashboard.Done()
	if errors.Is(err, context.Canceled) {
		fmt.Printf("interrupted: the finished rounds are saved in %s; run the cell again to continue\n", e.Out)
		return results, nil
	}
	return results, err
}
