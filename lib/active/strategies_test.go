package active

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/advlab/advlab/internal/testenv"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/metrics"
)

// endToEnd runs strategies through the runner on the smoke task (initial 20, budget 10, 2 rounds,
// one repeat) with the evaluator as oracle, and returns the results.
func endToEnd(t *testing.T, minAccuracy float64, learner func() Learner, strategies ...Strategy) *Results {
	t.Helper()
	task := smokeTask(t)
	eval, err := metrics.LoadEvaluator("mnist")
	if err != nil {
		testenv.Missing(t, "no MNIST evaluator: %v", err)
	}
	cfg := Config{Task: task.String(), Learner: learner().Name(), Initial: 20, Budget: 10, Rounds: 2, Repeats: 1, Seed: 5}
	for _, s := range strategies {
		cfg.Strategies = append(cfg.Strategies, s.Name())
	}
	start := time.Now()
	runner := &Runner{Config: cfg, Task: task, Strategies: strategies, NewLearner: learner,
		Oracle: NewOracle(task.Train, eval, task.Classes), Backend: backend.MustNew(), Out: filepath.Join(t.TempDir(), "run")}
	results, err := runner.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range results.Curves {
		if len(c.Mean) != 3 || c.Labels[2] != 40 {
			t.Errorf("%s: %d rounds, labels %v; want 3 rounds ending at 40 labels", c.Strategy, len(c.Mean), c.Labels)
			continue
		}
		t.Logf("%s: accuracy %.3f → %.3f → %.3f", c.Strategy, c.Mean[0], c.Mean[1], c.Mean[2])
		if c.Mean[2] < minAccuracy {
			t.Errorf("%s: accuracy %.3f with 40 labels on MNIST 5 vs 7, want >= %.2f", c.Strategy, c.Mean[2], minAccuracy)
		}
	}
	t.Logf("%d strategies in %s", len(strategies), time.Since(start))
	return results
}

func svmLearner() Learner { return NewSVM(SVMConfig{}) }

// metricsOf returns the metrics of every query round of strategy.
func metricsOf(results *Results, strategy string) []map[string]float64 {
	var out []map[string]float64
	for _, rec := range results.Records {
		if rec.Strategy == strategy && rec.Round > 0 {
			out = append(out, rec.Metrics)
		}
	}
	return out
}

func TestPoolStrategiesEndToEnd(t *testing.T) {
	strategies, err := NewStrategies([]string{"random", "entropy", "margin", "least-confidence", "svm-active"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	endToEnd(t, 0.9, svmLearner, strategies...)
}

func TestSynthesisStrategiesEndToEnd(t *testing.T) {
	g := smokeGAN(t)
	gaal := &GAAL{GAN: g}
	// A GAN trained for 100 steps draws blurs; labelled by the evaluator they teach the SVM little
	// and can cost it accuracy: the bar is that the runs complete with a learner still far above
	// chance (0.5), not that synthesis helps at this size.
	results := endToEnd(t, 0.7, svmLearner, gaal, &Mixed{GAAL: gaal, Every: 1}, &GANRandom{GAN: g}, &ALGAN{GAN: g})
	for _, rec := range results.Records {
		if rec.Round == 0 {
			continue
		}
		// Mixed with Every 1: round 1 is GAAL (10 synthesised), round 2 random (no new synthesised).
		want := 10 * rec.Round
		if rec.Strategy == "gaal-mixed" {
			want = 10
		}
		if rec.Synthetic != want {
			t.Errorf("%s round %d: %d synthesised labels, want %d", rec.Strategy, rec.Round, rec.Synthetic, want)
		}
		if (rec.OracleConfidence == nil) != (rec.Strategy == "gaal-mixed" && rec.Round == 2) {
			t.Errorf("%s round %d: oracle confidence %v", rec.Strategy, rec.Round, rec.OracleConfidence)
		}
	}
	for _, m := range metricsOf(results, "gaal") {
		if m["distance_after"] >= 0.5*m["distance_before"] {
			t.Errorf("gaal: distance to the hyperplane %.4f → %.4f, want at least halved", m["distance_before"], m["distance_after"])
		}
	}
	for _, m := range metricsOf(results, "al-gan") {
		t.Logf("al-gan: |D(G(z)) − ½| %.4f → %.4f, ‖z‖/√d %.3f", m["d_doubt_before"], m["d_doubt_after"], m["z_norm_after"])
		if m["d_doubt_after"] >= m["d_doubt_before"] {
			t.Errorf("al-gan: |D − ½| rose from %.4f to %.4f", m["d_doubt_before"], m["d_doubt_after"])
		}
		if m["z_norm_after"] < 0.8 || m["z_norm_after"] > 1.2 {
			t.Errorf("al-gan: ‖z‖/√d = %.3f after the optimisation, want within 20%% of 1 (the regulariser)", m["z_norm_after"])
		}
	}
}

func TestVAALEndToEnd(t *testing.T) {
	endToEnd(t, 0.9, svmLearner, &VAAL{Config: VAALConfig{Steps: 10, BatchSize: 16}})
}

// TestVAALQueriesWhatTheLabelledSetMisses labels only 5s: the latent discriminator learns where the
// labelled codes are, and the images it is surest are unlabelled, the query, are 7s.
func TestVAALQueriesWhatTheLabelledSetMisses(t *testing.T) {
	task := smokeTask(t)
	pool := NewPool(task.Train)
	var fives []int
	for i, label := range task.Train.Labels {
		if label == 0 && len(fives) < 50 {
			fives = append(fives, i)
		}
	}
	if err := pool.SetLabels(fives, make([]int, len(fives))); err != nil {
		t.Fatal(err)
	}
	round := &Round{Number: 1, Pool: pool, Learner: svmLearner(), Budget: 20, RNG: rand.New(rand.NewPCG(2, 2)),
		Backend: backend.MustNew(), Seed: 3}
	q, err := (&VAAL{Config: VAALConfig{Steps: 60, BatchSize: 32}}).Select(context.Background(), round)
	if err != nil {
		t.Fatal(err)
	}
	sevens := 0
	for _, i := range q.Indices {
		sevens += int(task.Train.Labels[i])
	}
	t.Logf("vaal after labelling 50 fives: %d of %d queries are 7s (%.0f%% of the unlabelled pool); D(μ) labelled %.3f, unlabelled %.3f",
		sevens, len(q.Indices), 100*float64(task.Train.ClassCounts(2)[1])/float64(pool.NumUnlabelled()), q.Metrics["d_labelled"], q.Metrics["d_unlabelled"])
	if sevens < 16 {
		t.Errorf("%d of 20 VAAL queries are 7s, want >= 16: the labelled set holds only 5s", sevens)
	}
	if q.Metrics["d_labelled"] <= q.Metrics["d_unlabelled"] {
		t.Errorf("mean D(μ) %.3f on labelled images, %.3f on unlabelled; want the labelled higher", q.Metrics["d_labelled"], q.Metrics["d_unlabelled"])
	}
}

// TestVAALConvVAE runs one selection with VAAL's convolutional VAE (narrow, a few updates).
func TestVAALConvVAE(t *testing.T) {
	task := smokeTask(t)
	pool := NewPool(task.Train)
	initial, _ := InitialSet(task.Train.Labels, 2, 20, rand.New(rand.NewPCG(1, 1)))
	labels, _ := NewOracle(task.Train, nil, task.Classes).LabelPool(initial)
	if err := pool.SetLabels(initial, labels); err != nil {
		t.Fatal(err)
	}
	round := &Round{Number: 1, Pool: pool, Learner: svmLearner(), Budget: 10, RNG: rand.New(rand.NewPCG(2, 2)),
		Backend: backend.MustNew(), Seed: 3}
	q, err := (&VAAL{Config: VAALConfig{Arch: "conv", Steps: 3, BatchSize: 16, Width: 1.0 / 16}}).Select(context.Background(), round)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Indices) != 10 {
		t.Fatalf("%d queries, want 10", len(q.Indices))
	}
	for _, i := range q.Indices {
		if pool.IsLabelled(i) {
			t.Errorf("VAAL queried the labelled image %d", i)
		}
	}
	if loss := q.Metrics["vae_loss"]; !(loss > 0) || math.IsInf(loss, 0) {
		t.Errorf("VAE loss %v, want a positive finite number", loss)
	}
}

// keptStrategy is a VAAL or ARAL value under test: its Trace, and its kept training graph.
type keptStrategy struct {
	trace  func(context.Context, *Round) (*LatentTrace, error)
	graphs func() *model.Exec
}

// TestLatentStrategiesKeepTheirGraphsAcrossRounds runs two rounds with one VAAL (and one ARAL)
// value, which keeps its compiled graphs and re-initialises the networks, and checks each round
// against a value that builds everything afresh: the same losses, scores and query, bit for bit.
// VAAL runs with both VAEs: the conv VAE's batch norms hold running statistics, variables created
// with a value (which trainloop.Initial restores) rather than drawn by an initializer. ARAL's
// classifier draws Gaussian noise from the store's random state while it trains.
func TestLatentStrategiesKeepTheirGraphsAcrossRounds(t *testing.T) {
	vaal := func(cfg VAALConfig) func() keptStrategy {
		return func() keptStrategy {
			s := &VAAL{Config: cfg}
			return keptStrategy{s.Trace, func() *model.Exec { return s.kept.nets.vaeStep }}
		}
	}
	aral := func() keptStrategy {
		s := &ARAL{Config: ARALConfig{Steps: 4, BatchSize: 16, Hidden: 64}}
		trace := func(ctx context.Context, r *Round) (*LatentTrace, error) { return s.Trace(ctx, r, ARALTraceOptions{}) }
		return keptStrategy{trace, func() *model.Exec { return s.kept.nets.step }}
	}
	for name, newStrategy := range map[string]func() keptStrategy{
		"vaal-mlp":  vaal(VAALConfig{Steps: 6, BatchSize: 16}),
		"vaal-conv": vaal(VAALConfig{Arch: "conv", Steps: 3, BatchSize: 16, Width: 1.0 / 16}),
		"aral":      aral,
	} {
		t.Run(name, func(t *testing.T) { keepsItsGraphs(t, newStrategy) })
	}
}

func keepsItsGraphs(t *testing.T, newStrategy func() keptStrategy) {
	task := smokeTask(t)
	pool := NewPool(task.Train)
	initial, _ := InitialSet(task.Train.Labels, 2, 20, rand.New(rand.NewPCG(1, 1)))
	oracle := NewOracle(task.Train, nil, task.Classes)
	labels, _ := oracle.LabelPool(initial)
	if err := pool.SetLabels(initial, labels); err != nil {
		t.Fatal(err)
	}
	b := backend.MustNew()
	kept := newStrategy()
	var graphs *model.Exec
	for number, seed := range []uint64{3, 8} {
		round := &Round{Number: number + 1, Pool: pool, Learner: svmLearner(), Budget: 10, RNG: rand.New(rand.NewPCG(2, 2)),
			Backend: b, Seed: seed}
		got, err := kept.trace(context.Background(), round)
		if err != nil {
			t.Fatal(err)
		}
		if graphs == nil {
			graphs = kept.graphs()
		} else if kept.graphs() != graphs {
			t.Errorf("round %d built new graphs, want the first round's kept", number+1)
		}
		want, err := newStrategy().trace(context.Background(), round)
		if err != nil {
			t.Fatal(err)
		}
		for k, name := range want.LossNames {
			if !slices.Equal(got.Losses[k], want.Losses[k]) {
				t.Errorf("round %d (seed %d): %s with kept graphs %v, built afresh %v", number+1, seed, name,
					got.Losses[k], want.Losses[k])
			}
		}
		if !slices.Equal(got.UnlabelledScores, want.UnlabelledScores) || !slices.Equal(got.LabelledScores, want.LabelledScores) {
			t.Errorf("round %d (seed %d): the pool's scores differ between kept and fresh graphs", number+1, seed)
		}
		if !slices.Equal(got.Query.Indices, want.Query.Indices) {
			t.Errorf("round %d (seed %d): query %v with kept graphs, %v built afresh", number+1, seed,
				got.Query.Indices, want.Query.Indices)
		}
		t.Logf("round %d (seed %d): %s %.4f → %.4f", number+1, seed, got.LossNames[0], got.Losses[0][0],
			got.Losses[0][len(got.Losses[0])-1])
		labels, _ := oracle.LabelPool(got.Query.Indices)
		if err := pool.SetLabels(got.Query.Indices, labels); err != nil {
			t.Fatal(err)
		}
	}
}

func TestARALEndToEnd(t *testing.T) {
	aral := &ARAL{Config: ARALConfig{Steps: 60, BatchSize: 16, Hidden: 128}}
	results := endToEnd(t, 0.9, svmLearner, aral)
	for _, m := range metricsOf(results, "aral") {
		t.Logf("aral: S labelled %.3f unlabelled %.3f, classifier batch error %.2f, losses C %.3f GE %.3f S %.3f",
			m["s_labelled"], m["s_unlabelled"], m["classifier_batch_error"], m["classifier_loss"], m["generator_encoder_loss"], m["sampler_loss"])
		if m["s_labelled"] <= m["s_unlabelled"] {
			t.Errorf("aral: mean S %.3f on labelled images, %.3f on unlabelled; want the labelled higher", m["s_labelled"], m["s_unlabelled"])
		}
	}
}

func TestCNNLearner(t *testing.T) {
	task := smokeTask(t)
	cnn := NewCNN(backend.MustNew(), 2, CNNConfig{Steps: 120})
	pool := NewPool(task.Train)
	labels, _ := NewOracle(task.Train, nil, task.Classes).LabelPool(seq(200))
	if err := pool.SetLabels(seq(200), labels); err != nil {
		t.Fatal(err)
	}
	if err := cnn.Fit(context.Background(), pool.TrainingSet(), 1); err != nil {
		t.Fatal(err)
	}
	accuracy, err := Accuracy(cnn, task.Test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cnn, 200 labels, 120 steps: test accuracy %.3f, last loss %.3f", accuracy, cnn.LastLoss)
	if accuracy < 0.95 {
		t.Errorf("cnn test accuracy %.3f with 200 labels of MNIST 5 vs 7, want >= 0.95", accuracy)
	}
	// The same seed and data give the same model.
	probs, _ := PredictAll(cnn, task.Test, seq(20))
	if err := cnn.Fit(context.Background(), pool.TrainingSet(), 1); err != nil {
		t.Fatal(err)
	}
	again, _ := PredictAll(cnn, task.Test, seq(20))
	for i := range probs {
		if probs[i] != again[i] {
			t.Fatalf("refit with the same seed: probability %d %v then %v", i, probs[i], again[i])
		}
	}
	// A refit with another seed keeps the compiled step and trains what a new CNN trains.
	step := cnn.kept.nets.step
	if err := cnn.Fit(context.Background(), pool.TrainingSet(), 2); err != nil {
		t.Fatal(err)
	}
	fresh := NewCNN(backend.MustNew(), 2, CNNConfig{Steps: 120})
	if err := fresh.Fit(context.Background(), pool.TrainingSet(), 2); err != nil {
		t.Fatal(err)
	}
	if cnn.kept.nets.step != step {
		t.Error("the refit built a new training graph, want the first one kept")
	}
	if cnn.LastLoss != fresh.LastLoss {
		t.Errorf("refit with seed 2: last loss %v, a new CNN's %v", cnn.LastLoss, fresh.LastLoss)
	}
	got, _ := PredictAll(cnn, task.Test, seq(20))
	want, _ := PredictAll(fresh, task.Test, seq(20))
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("refit with seed 2: probability %d %v, a new CNN's %v", i, got[i], want[i])
		}
	}
}

// copyAndNoise is a synthesising strategy for tests: half its queries are copies of unlabelled
// pool digits (the evaluator labels them confidently), half uniform noise (it does not).
type copyAndNoise struct{}

func (copyAndNoise) Name() string { return "copy-and-noise" }

func (copyAndNoise) Select(_ context.Context, r *Round) (Query, error) {
	size := r.Pool.Set().ImageSize()
	digits := r.Pool.Images(r.Pool.Unlabelled()[:r.Budget/2])
	var q Query
	for k := range r.Budget {
		image := make([]float32, size)
		if k < r.Budget/2 {
			copy(image, digits[k*size:(k+1)*size])
		} else {
			for i := range image {
				image[i] = 2*r.RNG.Float32() - 1
			}
		}
		q.Synthetic = append(q.Synthetic, Example{Image: image})
	}
	return q, nil
}

// TestMinConfidenceDiscardsUnsureAnswers runs a strategy that synthesises half digits, half noise
// with MinConfidence 0.9: the unsure answers are paid for (the label count still grows by the
// budget) but never reach the learner, and a saved and restored pool keeps the count.
func TestMinConfidenceDiscardsUnsureAnswers(t *testing.T) {
	task := smokeTask(t)
	eval, err := metrics.LoadEvaluator("mnist")
	if err != nil {
		testenv.Missing(t, "no MNIST evaluator: %v", err)
	}
	cfg := Config{Task: task.String(), Learner: "svm", Strategies: []string{"copy-and-noise"}, Initial: 20, Budget: 10,
		Rounds: 2, Repeats: 1, Seed: 5, MinConfidence: 0.9}
	runner := &Runner{Config: cfg, Task: task, Strategies: []Strategy{copyAndNoise{}}, NewLearner: svmLearner,
		Oracle: NewOracle(task.Train, eval, task.Classes), Backend: backend.MustNew()}
	runner.OnRound = func(rec Record) {
		if rec.Labels != 20+10*rec.Round || rec.Synthetic+rec.Discarded != 10*rec.Round {
			t.Errorf("round %d: %d labels (%d synthesised kept, %d discarded), want %d labels and %d synthesised in all",
				rec.Round, rec.Labels, rec.Synthetic, rec.Discarded, 20+10*rec.Round, 10*rec.Round)
		}
	}
	results, err := runner.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	last := results.Records[len(results.Records)-1]
	t.Logf("kept %d, discarded %d of 20 synthesised queries (mean confidence %.3f)", last.Synthetic, last.Discarded, *last.OracleConfidence)
	if last.Synthetic < 8 || last.Discarded < 8 {
		t.Errorf("kept %d and discarded %d of 10 digits and 10 noise images, want about 10 and 10", last.Synthetic, last.Discarded)
	}
	pool := NewPool(task.Train)
	pool.Discard(3)
	restored := NewPool(task.Train)
	if err := restorePool(restored, savePool(pool, 1)); err != nil || restored.NumDiscarded() != 3 || restored.NumLabels() != 3 {
		t.Errorf("restored pool: %v, %d discarded, %d labels; want 3 and 3", err, restored.NumDiscarded(), restored.NumLabels())
	}
	if err := (Config{Strategies: []string{"x"}, Initial: 1, Budget: 1, Repeats: 1, MinConfidence: 1.5}).Validate(); err == nil {
		t.Error("MinConfidence 1.5 accepted")
	}
}
