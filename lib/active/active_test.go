package active

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/advlab/advlab/internal/testenv"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/data"
)

var (
	mnistOnce sync.Once
	mnistTask *Task
	mnistErr  error
)

// mnist57 returns MNIST 5 vs 7 from the data cache (tests never download), or skips the test.
func mnist57(t *testing.T) *Task {
	t.Helper()
	mnistOnce.Do(func() {
		opts := data.FetchOptions{Offline: true}
		train, err := data.LoadWith("mnist", data.Train, opts)
		if err != nil {
			mnistErr = err
			return
		}
		test, err := data.LoadWith("mnist", data.Test, opts)
		if err != nil {
			mnistErr = err
			return
		}
		mnistTask, mnistErr = NewTask(train, test, []int{5, 7})
	})
	if mnistErr != nil {
		testenv.Missing(t, "MNIST is not in the data cache (run `advlab data fetch mnist`): %v", mnistErr)
	}
	return mnistTask
}

// smallTask is the first nPool pool images and nTest test images of task.
func smallTask(task *Task, nPool, nTest int) *Task {
	return &Task{Train: task.Train.Subset(seq(nPool)), Test: task.Test.Subset(seq(nTest)), Classes: task.Classes}
}

func TestPoolBookkeeping(t *testing.T) {
	set := &data.Set{Name: "toy", N: 6, Height: 1, Width: 2, Channels: 1,
		Images: []uint8{0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, Labels: []uint8{0, 1, 0, 1, 0, 1}}
	pool := NewPool(set)
	if pool.NumLabelled() != 0 || pool.NumUnlabelled() != 6 {
		t.Fatalf("fresh pool: %d labelled, %d unlabelled, want 0 and 6", pool.NumLabelled(), pool.NumUnlabelled())
	}
	if err := pool.SetLabels([]int{4, 1}, []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		indices, labels []int
		want            string
	}{
		{[]int{1}, []int{1}, "already labelled"},
		{[]int{2, 2}, []int{0, 0}, "queried twice"},
		{[]int{6}, []int{0}, "out of range"},
		{[]int{-1}, []int{0}, "out of range"},
		{[]int{3}, []int{-2}, "want >= 0"},
		{[]int{3}, nil, "1 indices and 0 labels"},
	} {
		err := pool.SetLabels(bad.indices, bad.labels)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SetLabels(%v, %v): %v, want an error containing %q", bad.indices, bad.labels, err, bad.want)
		}
	}
	// A failed call changes nothing; labelled and unlabelled partition the pool.
	labelled, unlabelled := pool.Labelled(), pool.Unlabelled()
	if !slices.Equal(labelled, []int{1, 4}) || !slices.Equal(unlabelled, []int{0, 2, 3, 5}) {
		t.Errorf("labelled %v unlabelled %v, want [1 4] and [0 2 3 5]", labelled, unlabelled)
	}
	for _, i := range labelled {
		if slices.Contains(unlabelled, i) {
			t.Errorf("index %d both labelled and unlabelled", i)
		}
	}
	if err := pool.AddSynthetic(Example{Image: []float32{0.5, -0.5}, Label: 1, Confidence: 0.9}); err != nil {
		t.Fatal(err)
	}
	if err := pool.AddSynthetic(Example{Image: []float32{0.5}, Label: 1}); err == nil {
		t.Error("a synthesised image of the wrong size was accepted")
	}
	train := pool.TrainingSet()
	// Image i holds Images[2i:2i+2]: image 1 is (10, 20), image 4 (70, 80), mapped to [-1, 1].
	want := []float32{10/127.5 - 1, 20/127.5 - 1, 70/127.5 - 1, 80/127.5 - 1, 0.5, -0.5}
	if train.N != 3 || !slices.Equal(train.Labels, []int{1, 0, 1}) {
		t.Fatalf("training set: N %d labels %v, want 3 and [1 0 1]", train.N, train.Labels)
	}
	for i, v := range want {
		if math.Abs(float64(train.Values[i]-v)) > 1e-6 {
			t.Errorf("training pixel %d = %v, want %v", i, train.Values[i], v)
		}
	}
	if pool.NumLabels() != 3 {
		t.Errorf("NumLabels = %d, want 3 (2 pool + 1 synthesised)", pool.NumLabels())
	}
}

func TestInitialSetIsBalancedAndDeterministic(t *testing.T) {
	truth := make([]uint8, 100)
	for i := range truth {
		if i%10 == 0 {
			truth[i] = 1 // 10% of class 1
		}
	}
	a, err := InitialSet(truth, 2, 21, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := InitialSet(truth, 2, 21, rand.New(rand.NewPCG(3, 4)))
	if !slices.Equal(a, b) || len(a) != 21 {
		t.Fatalf("initial sets %v and %v, want the same 21 indices", a, b)
	}
	ones := 0
	for _, i := range a {
		ones += int(truth[i])
	}
	if ones < 10 {
		t.Errorf("%d images of class 1 in the initial set, want >= 10 (21/2 per class)", ones)
	}
	if _, err := InitialSet(truth, 2, 1, rand.New(rand.NewPCG(3, 4))); err == nil {
		t.Error("an initial set smaller than the number of classes was accepted")
	}
}

func TestSVMReachesMNIST57Accuracy(t *testing.T) {
	task := mnist57(t)
	pool := NewPool(task.Train)
	indices, err := InitialSet(task.Train.Labels, 2, 300, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	labels, _ := NewOracle(task.Train, nil, task.Classes).LabelPool(indices)
	if err := pool.SetLabels(indices, labels); err != nil {
		t.Fatal(err)
	}
	svm := NewSVM(SVMConfig{})
	train := pool.TrainingSet()
	if err := svm.Fit(context.Background(), train, 1); err != nil {
		t.Fatal(err)
	}
	accuracy, err := Accuracy(svm, task.Test)
	if err != nil {
		t.Fatal(err)
	}
	epochs, violation := svm.Converged()
	t.Logf("linear SVM, 300 labels: test accuracy %.4f on %d images (%d epochs, violation %.2g)", accuracy, task.Test.N, epochs, violation)
	if accuracy < 0.95 {
		t.Errorf("test accuracy %.4f with 300 labels, want > 0.95", accuracy)
	}
	if violation > 1e-3 {
		t.Errorf("solver stopped at violation %.3g, want < 1e-3", violation)
	}
	// The dual solution is optimal: nudging (w, b) in any direction does not lower the primal.
	base, _ := svm.Objective(train)
	rng := rand.New(rand.NewPCG(9, 9))
	for range 5 {
		saved := slices.Clone(svm.w)
		for j := range svm.w {
			svm.w[j] += 1e-3 * rng.NormFloat64()
		}
		nudged, _ := svm.Objective(train)
		svm.w = saved
		if nudged < base-1e-6 {
			t.Errorf("a random nudge lowered the primal objective from %.6f to %.6f: not at the optimum", base, nudged)
		}
	}
}

func TestUncertaintyScoresOnHandBuiltProbabilities(t *testing.T) {
	probs := []float32{
		0.98, 0.01, 0.01, // 0: confident
		0.40, 0.35, 0.25, // 1: least confident, highest entropy
		0.50, 0.49, 0.01, // 2: smallest margin
		0.70, 0.20, 0.10, // 3
	}
	for _, tc := range []struct {
		measure Uncertainty
		want    []int
	}{
		{Entropy, []int{1, 3, 2, 0}}, // (0.7, 0.2, 0.1) spreads more mass than (0.5, 0.49, 0.01)
		{Margin, []int{2, 1, 3, 0}},
		{LeastConfidence, []int{1, 2, 3, 0}},
	} {
		scores := UncertaintyScores(probs, 3, tc.measure)
		if got := TopK(scores, 4); !slices.Equal(got, tc.want) {
			t.Errorf("%s: order %v (scores %v), want %v", tc.measure, got, scores, tc.want)
		}
	}
	entropy := UncertaintyScores([]float32{0.5, 0.5}, 2, Entropy)[0]
	if math.Abs(entropy-math.Ln2) > 1e-7 {
		t.Errorf("entropy of (0.5, 0.5) = %v, want ln 2", entropy)
	}
	if margin := UncertaintyScores([]float32{0.7, 0.3}, 2, Margin)[0]; math.Abs(margin+0.4) > 1e-6 {
		t.Errorf("negated margin of (0.7, 0.3) = %v, want -0.4", margin)
	}
	if got := TopK([]float64{1, 3, 3, 2}, 2); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("TopK with a tie = %v, want [1 2] (ties to the smaller position)", got)
	}
}

// fixedLearner is a learner with fixed probabilities per pool image and a fixed hyperplane.
type fixedLearner struct {
	probs []float32 // per pool image, 2 classes
	w     []float32
	b     float64
}

func (f *fixedLearner) Name() string                                   { return "fixed" }
func (f *fixedLearner) NumClasses() int                                { return 2 }
func (f *fixedLearner) Fit(context.Context, data.Floats, uint64) error { return nil }
func (f *fixedLearner) Predict(images []float32, n int) ([]float32, error) {
	// The toy images below hold their pool index in the first pixel.
	out := make([]float32, 0, 2*n)
	for i := range n {
		idx := int(math.Round(float64(images[i*len(f.w)]+1) * 127.5))
		out = append(out, f.probs[2*idx], f.probs[2*idx+1])
	}
	return out, nil
}
func (f *fixedLearner) Hyperplane() ([]float32, float64) { return f.w, f.b }
func (f *fixedLearner) Decision(images []float32, n int) ([]float64, error) {
	out := make([]float64, n)
	for i := range n {
		out[i] = f.b
		for j, w := range f.w {
			out[i] += float64(w) * float64(images[i*len(f.w)+j])
		}
	}
	return out, nil
}

func TestPoolStrategiesPickExpectedItems(t *testing.T) {
	// Eight 1x2 images: pixel 0 is the index, pixel 1 a coordinate along w.
	second := []uint8{0, 200, 120, 130, 250, 126, 60, 129}
	set := &data.Set{Name: "toy", N: 8, Height: 1, Width: 2, Channels: 1, Labels: make([]uint8, 8)}
	for i := range 8 {
		set.Images = append(set.Images, uint8(i), second[i])
	}
	// Hyperplane w = (0, 1), b = 0: f(x) = pixel 1 mapped to [-1, 1]; |f| is smallest for
	// pixels near 127.5: images 5 (126), 7 (129), 3 (130), 2 (120).
	probs := []float32{0.99, 0.01, 0.6, 0.4, 0.9, 0.1, 0.5, 0.5, 0.8, 0.2, 0.55, 0.45, 0.97, 0.03, 0.7, 0.3}
	learner := &fixedLearner{probs: probs, w: []float32{0, 1}}
	pool := NewPool(set)
	if err := pool.SetLabels([]int{3}, []int{0}); err != nil { // image 3 is labelled: never picked.
		t.Fatal(err)
	}
	round := &Round{Number: 1, Pool: pool, Learner: learner, Budget: 3, RNG: rand.New(rand.NewPCG(1, 2))}
	for _, tc := range []struct {
		strategy Strategy
		want     []int
	}{
		{Uncertain{Measure: Entropy}, []int{5, 1, 7}},         // p(0) = 0.55, 0.6, 0.7 (0.5 is labelled)
		{Uncertain{Measure: Margin}, []int{5, 1, 7}},          // margins 0.1, 0.2, 0.4
		{Uncertain{Measure: LeastConfidence}, []int{5, 1, 7}}, // 1 − max p
		{SVMActive{}, []int{5, 7, 2}},                         // |f| = 0.012, 0.012, 0.059 (3 labelled)
	} {
		q, err := tc.strategy.Select(context.Background(), round)
		if err != nil {
			t.Fatal(err)
		}
		if tc.strategy.Name() == "svm-active" {
			slices.Sort(q.Indices[:2]) // 126 and 129 are equally far from 127.5 ± rounding
			slices.Sort(tc.want[:2])
		}
		if !slices.Equal(q.Indices, tc.want) {
			t.Errorf("%s picked %v, want %v", tc.strategy.Name(), q.Indices, tc.want)
		}
	}
	q, err := Random{}.Select(context.Background(), round)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Indices) != 3 || slices.Contains(q.Indices, 3) {
		t.Errorf("random picked %v, want 3 unlabelled images", q.Indices)
	}
	round.Learner = &CNN{}
	if _, err := (SVMActive{}).Select(context.Background(), round); err == nil || !strings.Contains(err.Error(), "linear learner") {
		t.Errorf("svm-active with a CNN: %v, want an error asking for a linear learner", err)
	}
}

// poolRunner is a short SVM experiment with the pool-based strategies.
func poolRunner(task *Task, out string) *Runner {
	strategies := []Strategy{Random{}, SVMActive{}, Uncertain{Measure: Entropy}}
	cfg := Config{Task: task.String(), Learner: "svm", Initial: 20, Budget: 10, Rounds: 4, Repeats: 2, Seed: 7}
	for _, s := range strategies {
		cfg.Strategies = append(cfg.Strategies, s.Name())
	}
	return &Runner{Config: cfg, Task: task, Strategies: strategies, NewLearner: func() Learner { return NewSVM(SVMConfig{}) },
		Oracle: NewOracle(task.Train, nil, task.Classes), Backend: backend.MustNew(), Out: out}
}

// sameResults compares two runs' records, timings aside.
func sameResults(t *testing.T, a, b *Results) {
	t.Helper()
	if len(a.Records) != len(b.Records) {
		t.Fatalf("%d records against %d", len(a.Records), len(b.Records))
	}
	for i := range a.Records {
		x, y := a.Records[i], b.Records[i]
		x.SelectSeconds, x.FitSeconds, y.SelectSeconds, y.FitSeconds = 0, 0, 0, 0
		if x.Strategy != y.Strategy || x.Repeat != y.Repeat || x.Round != y.Round || x.Labels != y.Labels ||
			x.Accuracy != y.Accuracy || x.Synthetic != y.Synthetic {
			t.Errorf("record %d differs:\n  %+v\n  %+v", i, x, y)
		}
	}
}

func TestRunnerResumesExactly(t *testing.T) {
	task := smallTask(mnist57(t), 1500, 400)
	whole, err := poolRunner(task, filepath.Join(t.TempDir(), "whole")).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * 2 * 5; len(whole.Records) != want {
		t.Fatalf("%d records, want %d (3 strategies x 2 repeats x 5 rounds)", len(whole.Records), want)
	}
	for _, c := range whole.Curves {
		if c.Labels[0] != 20 || c.Labels[4] != 60 || c.Repeats[4] != 2 {
			t.Errorf("%s curve: labels %v repeats %v, want 20..60 and 2 repeats", c.Strategy, c.Labels, c.Repeats)
		}
		if c.Mean[4] < 0.9 {
			t.Errorf("%s: mean accuracy %.3f with 60 labels, want >= 0.9 on MNIST 5 vs 7", c.Strategy, c.Mean[4])
		}
		t.Logf("%s: accuracy %.3f ± %.3f → %.3f ± %.3f (20 → 60 labels)", c.Strategy, c.Mean[0], c.Std[0], c.Mean[4], c.Std[4])
	}

	// Interrupt in the middle of svm-active's second repeat, then resume in the same directory.
	dir := filepath.Join(t.TempDir(), "resumed")
	ctx, cancel := context.WithCancel(context.Background())
	interrupted := poolRunner(task, dir)
	interrupted.OnRound = func(rec Record) {
		if rec.Strategy == "svm-active" && rec.Repeat == 1 && rec.Round == 2 {
			cancel()
		}
	}
	partial, err := interrupted.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run returned %v, want context.Canceled", err)
	}
	if len(partial.Records) != 15+5+3 {
		t.Errorf("%d records when interrupted, want 23", len(partial.Records))
	}
	resumed, err := poolRunner(task, dir).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, whole, resumed)
	for _, name := range []string{"results.json", "results.csv", "accuracy.svg", StateFile} {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Another protocol in the same directory is refused.
	other := poolRunner(task, dir)
	other.Config.Budget = 5
	if _, err := other.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Errorf("a run with another budget in the same directory: %v, want a refusal", err)
	}
}
