package active

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/advlab/advlab/internal/testenv"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/metrics"
)

var (
	smokeGANOnce sync.Once
	smokeGANNet  *GAN
	smokeGANErr  error
)

// smokeTask is the small MNIST 5 vs 7 task of the synthesis tests.
func smokeTask(t *testing.T) *Task {
	t.Helper()
	task := mnist57(t)
	smokeOnce.Do(func() { smokeTaskValue = smallTask(task, 1000, 300) })
	return smokeTaskValue
}

var (
	smokeOnce      sync.Once
	smokeTaskValue *Task
)

// smokeGAN is a GAN trained for 100 steps on smokeTask's pool, once for all the tests: enough for
// the synthesis code paths, not for pictures.
func smokeGAN(t *testing.T) *GAN {
	t.Helper()
	task := smokeTask(t)
	smokeGANOnce.Do(func() {
		smokeGANNet = NewGAN(GANConfig{Arch: "mlp", Steps: 100, BatchSize: 32, Seed: 3})
		round := &Round{Pool: NewPool(task.Train), Backend: backend.MustNew()}
		smokeGANErr = smokeGANNet.Ready(context.Background(), round)
	})
	if smokeGANErr != nil {
		t.Fatal(smokeGANErr)
	}
	return smokeGANNet
}

func TestGAALReducesDistanceToHyperplane(t *testing.T) {
	task := smokeTask(t)
	pool := NewPool(task.Train)
	initial, _ := InitialSet(task.Train.Labels, 2, 50, rand.New(rand.NewPCG(1, 1)))
	labels, _ := NewOracle(task.Train, nil, task.Classes).LabelPool(initial)
	if err := pool.SetLabels(initial, labels); err != nil {
		t.Fatal(err)
	}
	svm := NewSVM(SVMConfig{})
	if err := svm.Fit(context.Background(), pool.TrainingSet(), 1); err != nil {
		t.Fatal(err)
	}
	round := &Round{Number: 1, Pool: pool, Learner: svm, Budget: 10, RNG: rand.New(rand.NewPCG(2, 2)), Backend: backend.MustNew()}
	g := smokeGAN(t)
	w, b := svm.Hyperplane()
	z0 := normalDraws(round.RNG, 10*g.LatentDim())
	cfg := GAALConfig{}.withDefaults()
	synthesis, err := g.NearBoundary(context.Background(), w, b, z0, cfg.Steps, cfg.LearningRate)
	if err != nil {
		t.Fatal(err)
	}
	before, after := meanSqrt(synthesis.Before), meanSqrt(synthesis.After)
	t.Logf("mean distance of G(z) to the SVM hyperplane: %.4f before, %.4f after %d steps", before, after, cfg.Steps)
	if !(after < 0.5*before) {
		t.Errorf("mean distance %.4f after the optimisation, want < half the %.4f before", after, before)
	}
	// The images are those of the final z, and the distance the SVM computes for them agrees.
	f, _ := svm.Decision(synthesis.Images, 10)
	norm := 0.0
	for _, v := range w {
		norm += float64(v) * float64(v)
	}
	for i, v := range f {
		if d2 := v * v / norm; d2 > synthesis.After[i]*1.01+1e-6 || d2 < synthesis.After[i]*0.99-1e-6 {
			t.Errorf("image %d: d² from the SVM %.6g, from the graph %.6g", i, d2, synthesis.After[i])
		}
	}
	q, err := (&GAAL{GAN: g}).Select(context.Background(), round)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Synthetic) != 10 || q.Metrics["distance_after"] >= q.Metrics["distance_before"] {
		t.Errorf("GAAL query: %d images, metrics %v; want 10 images closer to the hyperplane", len(q.Synthetic), q.Metrics)
	}
}

func TestOracleLabelsSynthetic(t *testing.T) {
	task := smallTask(mnist57(t), 200, 10)
	eval, err := metrics.LoadEvaluator("mnist")
	if err != nil {
		testenv.Missing(t, "no MNIST evaluator: %v", err)
	}
	oracle := NewOracle(task.Train, eval, task.Classes)
	pool := NewPool(task.Train)
	images := pool.Images(seq(100))
	labels, confidence, err := oracle.LabelSynthetic(images, 100)
	if err != nil {
		t.Fatal(err)
	}
	agree, confident := 0, 0
	for i, label := range labels {
		if label == int(task.Train.Labels[i]) {
			agree++
		}
		if confidence[i] > 0.9 {
			confident++
		}
	}
	// On real digits the evaluator is the ground truth, confidently.
	if agree < 99 || confident < 95 {
		t.Errorf("evaluator oracle on 100 real 5s and 7s: %d agree with the ground truth, %d with confidence > 0.9; want >= 99 and >= 95", agree, confident)
	}
	if _, _, err := NewOracle(task.Train, nil, task.Classes).LabelSynthetic(images[:784], 1); err == nil {
		t.Error("an oracle without an evaluator labelled a synthesised image")
	}
}
