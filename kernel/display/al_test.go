package display

import (
	"strings"
	"testing"
	"time"

	"github.com/advlab/advlab/internal/testenv"

	"github.com/advlab/advlab/lib/active"
	"github.com/advlab/advlab/lib/data"
)

func TestALDashboardDrawsCurvesAndChainsOnRound(t *testing.T) {
	var chained []int
	runner := &active.Runner{Config: active.Config{Task: "toy", Learner: "svm", Strategies: []string{"random", "gaal"},
		Initial: 10, Budget: 5, Rounds: 2, Repeats: 2}, OnRound: func(rec active.Record) { chained = append(chained, rec.Round) }}
	d := NewALDashboard("AL", runner)
	rec := &recorder{}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	d.dashboard = newDashboard("AL", rec.show, nil, clock.Now)
	for round := range 3 {
		runner.OnRound(active.Record{Strategy: "random", Round: round, Labels: 10 + 5*round, Accuracy: 0.8 + 0.05*float64(round)})
		clock.Advance(time.Second)
	}
	d.Done()
	if len(chained) != 3 || chained[2] != 2 {
		t.Errorf("previous OnRound saw rounds %v, want 0 1 2", chained)
	}
	if len(rec.pages) == 0 {
		t.Fatal("nothing shown")
	}
	last := rec.pages[len(rec.pages)-1]
	for _, want := range []string{"<svg", "random", "step 3/12", "accuracy=0.9"} {
		if !strings.Contains(last, want) {
			t.Errorf("last page lacks %q", want)
		}
	}
}

func TestRunExperimentChecksAndRuns(t *testing.T) {
	if _, err := RunExperiment(active.Experiment{Strategies: []string{"coreset"}, Dataset: "mnist"}); err == nil ||
		!strings.Contains(err.Error(), `unknown strategy "coreset"`) {
		t.Errorf("an unknown strategy: error %v, want one naming it", err)
	}
	if _, err := data.LoadWith("mnist", data.Train, data.FetchOptions{Offline: true}); err != nil {
		testenv.Missing(t, "MNIST is not in the data cache (run `advlab data fetch mnist`): %v", err)
	}
	e := active.Experiment{Strategies: []string{"random"}, Dataset: "mnist", Classes: []int{5, 7}, Out: t.TempDir()}
	e.Smoke()
	results, err := RunExperiment(e)
	if err != nil {
		t.Fatal(err)
	}
	if len(results.Curves) != 1 || len(results.Curves[0].Mean) != e.Rounds+1 || results.Curves[0].Mean[e.Rounds] < 0.8 {
		t.Errorf("curves %+v: want one curve of %d rounds ending above 0.8", results.Curves, e.Rounds+1)
	}
}
