package display

import (
	"strings"
	"testing"
	"time"

	"github.com/advlab/advlab/lib/active"
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
