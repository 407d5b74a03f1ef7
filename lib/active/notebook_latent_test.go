package active

import (
	"context"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/advlab/advlab/lib/backend"
)

// smokeRunner is a runner over smokeTask (MNIST 5 vs 7) with the SVM learner, no output directory.
func smokeRunner(t *testing.T, strategies ...Strategy) *Runner {
	t.Helper()
	task := smokeTask(t)
	cfg := Config{Task: task.String(), Learner: "svm", Initial: 20, Budget: 10, Rounds: 1, Repeats: 1, Seed: 7}
	for _, s := range strategies {
		cfg.Strategies = append(cfg.Strategies, s.Name())
	}
	return &Runner{Config: cfg, Task: task, Strategies: strategies, NewLearner: svmLearner,
		Oracle: NewOracle(task.Train, nil, task.Classes), Backend: backend.MustNew()}
}

// checkTrace checks a trace's shapes and that its query is the Budget lowest-scored unlabelled
// images, with the metrics' means equal to the scores' means.
func checkTrace(t *testing.T, trace *LatentTrace, round *Round, steps int, labelledKey, unlabelledKey string) {
	t.Helper()
	if len(trace.Losses) != len(trace.LossNames) {
		t.Fatalf("%d loss rows for %d names", len(trace.Losses), len(trace.LossNames))
	}
	for k, row := range trace.Losses {
		if len(row) != steps {
			t.Errorf("loss %q: %d values, want one per iteration (%d)", trace.LossNames[k], len(row), steps)
		}
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("loss %q: %v", trace.LossNames[k], v)
			}
		}
	}
	if !slices.Equal(trace.Labelled, round.Pool.Labelled()) || !slices.Equal(trace.Unlabelled, round.Pool.Unlabelled()) {
		t.Fatalf("trace's labelled/unlabelled indices are not the pool's")
	}
	if len(trace.LabelledScores) != len(trace.Labelled) || len(trace.UnlabelledScores) != len(trace.Unlabelled) {
		t.Fatalf("%d/%d labelled scores, %d/%d unlabelled", len(trace.LabelledScores), len(trace.Labelled),
			len(trace.UnlabelledScores), len(trace.Unlabelled))
	}
	if len(trace.Query.Indices) != round.Budget {
		t.Fatalf("%d queries, want %d", len(trace.Query.Indices), round.Budget)
	}
	picked := map[int]bool{}
	highest := math.Inf(-1)
	for k, i := range trace.Unlabelled {
		if slices.Contains(trace.Query.Indices, i) {
			picked[i] = true
			highest = max(highest, trace.UnlabelledScores[k])
		}
	}
	if len(picked) != round.Budget {
		t.Fatalf("the query holds %d unlabelled pool images, want %d", len(picked), round.Budget)
	}
	for k, i := range trace.Unlabelled {
		if !picked[i] && trace.UnlabelledScores[k] < highest {
			t.Errorf("image %d scored %.4f is not queried while a queried image scored %.4f", i, trace.UnlabelledScores[k], highest)
		}
	}
	if got, want := mean(trace.LabelledScores), trace.Query.Metrics[labelledKey]; math.Abs(got-want) > 1e-12 {
		t.Errorf("mean labelled score %v, metric %s %v", got, labelledKey, want)
	}
	if got, want := mean(trace.UnlabelledScores), trace.Query.Metrics[unlabelledKey]; math.Abs(got-want) > 1e-12 {
		t.Errorf("mean unlabelled score %v, metric %s %v", got, unlabelledKey, want)
	}
	if trace.Height != 28 || trace.Width != 28 || trace.Channels != 1 {
		t.Errorf("image shape %dx%dx%d, want 28x28x1", trace.Height, trace.Width, trace.Channels)
	}
}

// TestVAALTraceIsTheRunnersFirstRound runs round 1 by hand (FirstRound, Trace) and through the
// runner: the same query metrics, and Trace's query is Select's.
func TestVAALTraceIsTheRunnersFirstRound(t *testing.T) {
	vaal := &VAAL{Config: VAALConfig{Steps: 8, BatchSize: 16}}
	runner := smokeRunner(t, vaal)
	ctx := context.Background()
	round, err := runner.FirstRound(ctx, "vaal", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	trace, err := vaal.Trace(ctx, round)
	if err != nil {
		t.Fatal(err)
	}
	checkTrace(t, trace, round, 8, "d_labelled", "d_unlabelled")
	if round.Pool.NumLabelled() != 20 {
		t.Errorf("the first round's pool has %d labels, want the initial 20", round.Pool.NumLabelled())
	}
	again, err := vaal.Select(ctx, round)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, trace.Query) {
		t.Errorf("Select %v, Trace %v", again, trace.Query)
	}
	results, err := runner.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range results.Records {
		if rec.Round == 1 && !reflect.DeepEqual(rec.Metrics, trace.Query.Metrics) {
			t.Errorf("the runner's round 1 metrics %v, the traced round's %v", rec.Metrics, trace.Query.Metrics)
		}
	}
	// The losses are the ones named: L_VAE = L_trd + λ₂·L_adv with λ₂ = 1.
	for i := range trace.Losses[0] {
		if sum := trace.Losses[1][i] + trace.Losses[2][i]; math.Abs(sum-trace.Losses[0][i]) > 1e-3*math.Abs(sum) {
			t.Fatalf("iteration %d: L_VAE %v, L_trd + L_adv %v", i, trace.Losses[0][i], sum)
		}
	}
}

// TestARALTrace checks ARAL's trace: Select's query, the generator's images per class in [-1, 1],
// the classifier's test accuracy.
func TestARALTrace(t *testing.T) {
	aral := &ARAL{Config: ARALConfig{Steps: 20, BatchSize: 16, Hidden: 64}}
	runner := smokeRunner(t, aral)
	ctx := context.Background()
	round, err := runner.FirstRound(ctx, "aral", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	trace, err := aral.Trace(ctx, round, ARALTraceOptions{PerClass: 3, Test: runner.Task.Test, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkTrace(t, trace, round, 20, "s_labelled", "s_unlabelled")
	if want := 2 * 3 * 28 * 28; len(trace.Generated) != want || trace.GeneratedPerClass != 3 {
		t.Fatalf("%d generated values (%d per class), want %d (3 per class)", len(trace.Generated), trace.GeneratedPerClass, want)
	}
	for _, v := range trace.Generated {
		if !(v >= -1 && v <= 1) {
			t.Fatalf("generated pixel %v outside [-1, 1]", v)
		}
	}
	if a := trace.ClassifierAccuracy; !(a > 0 && a <= 1) {
		t.Errorf("classifier accuracy %v", a)
	}
	t.Logf("aral after 20 steps: classifier test accuracy %.3f, S labelled %.3f unlabelled %.3f",
		trace.ClassifierAccuracy, trace.Query.Metrics["s_labelled"], trace.Query.Metrics["s_unlabelled"])
	again, err := aral.Select(ctx, round)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, trace.Query) {
		t.Errorf("Select %v, Trace %v", again, trace.Query)
	}
}

func TestFirstRoundFitsTheLearner(t *testing.T) {
	runner := smokeRunner(t, Random{})
	round, err := runner.FirstRound(context.Background(), "random", 0, true)
	if err != nil {
		t.Fatal(err)
	}
	accuracy, err := Accuracy(round.Learner, runner.Task.Test)
	if err != nil {
		t.Fatal(err)
	}
	if accuracy < 0.8 {
		t.Errorf("the first round's learner: test accuracy %.3f on MNIST 5 vs 7 with 20 labels, want a trained learner (>= 0.8)", accuracy)
	}
	if round.Number != 1 || round.Budget != 10 || round.RNG == nil {
		t.Errorf("round %d, budget %d", round.Number, round.Budget)
	}
}

func TestHistogram(t *testing.T) {
	centres, fractions := Histogram([]float64{0, 0.1, 0.3, 0.99, 1, 2, -1, math.NaN()}, 0, 1, 4)
	if !slices.Equal(centres, []float64{0.125, 0.375, 0.625, 0.875}) {
		t.Errorf("centres %v", centres)
	}
	// 0, 0.1, -1 → bin 0; 0.3 → bin 1; 0.99, 1, 2 → bin 3; NaN ignored.
	if want := []float64{3.0 / 7, 1.0 / 7, 0, 3.0 / 7}; !slices.Equal(fractions, want) {
		t.Errorf("fractions %v, want %v", fractions, want)
	}
	if c, f := Histogram(nil, 1, 0, 3); c != nil || f != nil {
		t.Errorf("an empty range gave %v %v", c, f)
	}
}
