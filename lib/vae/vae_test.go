package vae

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best with the ops unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/models"
)

// eval runs a graph function of constant inputs once and returns its outputs as float64 slices.
func eval(t *testing.T, fn func(g *Graph) []*Node) [][]float64 {
	t.Helper()
	exec, err := NewExec(backend.MustNew(), func(g *Graph) []*Node { return fn(g) })
	if err != nil {
		t.Fatal(err)
	}
	outputs, err := exec.Exec()
	if err != nil {
		t.Fatal(err)
	}
	result := make([][]float64, len(outputs))
	for i, out := range outputs {
		for _, v := range tensors.MustCopyFlatData[float32](out) {
			result[i] = append(result[i], float64(v))
		}
	}
	return result
}

func near(a, b, tolerance float64) bool { return math.Abs(a-b) <= tolerance }

func TestKLAgainstClosedForm(t *testing.T) {
	// KL(N(μ, σ²) ‖ N(0, 1)) = ½(μ² + σ² − 1 − log σ²), by hand for three dimensions:
	// μ=1, σ²=1 → 0.5;  μ=0, σ²=4 → ½(4 − 1 − log 4) = 0.806853;  μ=−2, σ²=e⁻¹ → ½(4 + e⁻¹) = 2.183940.
	want := []float64{0.5, 0.5 * (3 - math.Log(4)), 0.5 * (4 + math.Exp(-1))}
	out := eval(t, func(g *Graph) []*Node {
		mu := Const(g, [][]float32{{1, 0, -2}})
		logvar := Const(g, [][]float32{{0, float32(math.Log(4)), -1}})
		return []*Node{KLPerDimension(mu, logvar), KLDivergence(mu, logvar)}
	})
	for j, w := range want {
		if !near(out[0][j], w, 1e-5) {
			t.Errorf("KL of dimension %d = %.6f, want %.6f", j, out[0][j], w)
		}
	}
	if sum := want[0] + want[1] + want[2]; !near(out[1][0], sum, 1e-5) {
		t.Errorf("KL total = %.6f, want %.6f", out[1][0], sum)
	}
}

func TestReconstructionTermsByHand(t *testing.T) {
	out := eval(t, func(g *Graph) []*Node {
		logits := Const(g, [][]float32{{0, 2}})   // [B=1, 2 pixels]
		x := Const(g, [][]float32{{1, 0.25}})     //
		means := Const(g, [][]float32{{0.5, 0}})  //
		target := Const(g, [][]float32{{1.5, 2}}) // errors 1 and 2
		return []*Node{
			ReconstructionNLL(Bernoulli, logits, x, 0),
			ReconstructionNLL(Gaussian, means, target, 1),
			ReconstructionNLL(Gaussian, means, target, 0.25),
			ReconstructionNLL(MSE, means, target, 0),
		}
	})
	// Bernoulli: softplus(l) − x·l: log 2 − 0 and log(1 + e²) − 0.5.
	bernoulli := math.Log(2) + math.Log(1+math.Exp(2)) - 0.5
	// Gaussian: Σ e²/(2σ²) + ½ log(2πσ²) per pixel.
	gaussian1 := (1+4)/2.0 + math.Log(2*math.Pi)
	gaussianQuarter := (1+4)/0.5 + math.Log(2*math.Pi*0.25)
	for i, want := range []float64{bernoulli, gaussian1, gaussianQuarter, 5} {
		if !near(out[i][0], want, 1e-5) {
			t.Errorf("term %d = %.6f, want %.6f", i, out[i][0], want)
		}
	}
}

func TestReparameterizeObjectiveAndIWAEBound(t *testing.T) {
	out := eval(t, func(g *Graph) []*Node {
		mu := Const(g, [][]float32{{1, -1}})
		logvar := Const(g, [][]float32{{float32(math.Log(4)), 0}})
		eps := Const(g, [][]float32{{0.5, -2}})
		recon := Const(g, []float32{10})
		kl := Const(g, []float32{3})
		capacity := Const(g, float32(5))
		return []*Node{
			Reparameterize(mu, logvar, eps),                                           // 1 + 2·0.5, −1 + 1·(−2)
			Objective(recon, kl, 4, 0, capacity),                                      // 10 + 4·3
			Objective(recon, kl, 4, 2, capacity),                                      // 10 + 2·|3 − 5|
			IWAEBound(Const(g, [][]float32{{0, float32(math.Log(3))}, {1000, 1000}})), // log((1+3)/2), 1000
		}
	})
	checks := []struct {
		name      string
		got, want float64
	}{
		{"z[0]", out[0][0], 2}, {"z[1]", out[0][1], -3},
		{"β objective", out[1][0], 22}, {"capacity objective", out[2][0], 14},
		{"IWAE bound", out[3][0], math.Log(2)}, {"IWAE bound, large weights", out[3][1], 1000},
	}
	for _, c := range checks {
		if !near(c.got, c.want, 1e-4) {
			t.Errorf("%s = %.6f, want %.6f", c.name, c.got, c.want)
		}
	}
}

func TestCapacitySchedule(t *testing.T) {
	for _, c := range []struct {
		step, steps int
		want        float64
	}{{0, 100, 0}, {1, 100, 0.25}, {50, 100, 12.5}, {100, 100, 25}, {1000, 100, 25}, {7, 0, 25}} {
		if got := Capacity(c.step, 25, c.steps); !near(got, c.want, 1e-12) {
			t.Errorf("Capacity(%d, 25, %d) = %g, want %g", c.step, c.steps, got, c.want)
		}
	}
}

// bars returns n 8x8 images, each one of four horizontal or vertical bars with a little noise: a
// dataset with a two-dimensional structure that a tiny VAE learns in a few hundred steps.
func bars(n int, seed uint64) Floats {
	rng := rand.New(rand.NewPCG(seed, 1))
	values := make([]float32, n*64)
	for i := 0; i < n; i++ {
		kind, pos := rng.IntN(2), 1+rng.IntN(6)
		for y := 0; y < 8; y++ {
			for x := 0; x < 8; x++ {
				v := 0.05 * rng.Float32()
				if (kind == 0 && y == pos) || (kind == 1 && x == pos) {
					v = 0.95 + v
				}
				values[i*64+y*8+x] = v
			}
		}
	}
	return Floats{Values: values, N: n, Height: 8, Width: 8, Channels: 1}
}

func tinyTrainer(t *testing.T, cfg Config, images Images) *Trainer {
	t.Helper()
	m := models.MLPVAE(models.MLPVAEConfig{Hidden: 32, LatentDim: cfg.LatentDim, Height: 8, Width: 8, Channels: 1})
	trainer, err := New(backend.MustNew(), cfg, m.Encoder, m.Decoder, images)
	if err != nil {
		t.Fatal(err)
	}
	return trainer
}

// repeated shows the images of base over and over, n in all.
type repeated struct {
	Images
	n int
}

func (r repeated) Len() int { return r.n }
func (r repeated) Gather(indices []int, dst []float32) {
	wrapped := make([]int, len(indices))
	for i, idx := range indices {
		wrapped[i] = idx % r.Images.Len()
	}
	r.Images.Gather(wrapped, dst)
}

func TestTrainingLowersTheLossAndIWAEBoundsTheELBO(t *testing.T) {
	train, test := bars(512, 1), bars(128, 2)
	trainer := tinyTrainer(t, Config{LatentDim: 2, BatchSize: 32, LearningRate: 3e-3, Seed: 7}, train)
	before, err := trainer.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	var epochs []EpochMetrics
	if err := trainer.Train(context.Background(), TrainOptions{Epochs: 12, Test: test,
		OnEpoch: func(m EpochMetrics) { epochs = append(epochs, m) }}); err != nil {
		t.Fatal(err)
	}
	if len(epochs) != 12 || epochs[11].Step != 12*16 || epochs[11].Test == nil {
		t.Fatalf("got %d epoch reports (last %+v), want 12 with test metrics at step 192", len(epochs), epochs[len(epochs)-1])
	}
	after := epochs[11].Test
	t.Logf("test −ELBO %.2f → %.2f nats (KL %.2f, per dim %.2f)", before.NegELBO, after.NegELBO, after.KL, after.KLPerDim)
	// The pixels' noise puts a floor of about 8 nats under the grey-level cross-entropy.
	if after.NegELBO > 0.6*before.NegELBO || epochs[11].TrainLoss > 0.7*epochs[0].TrainLoss {
		t.Errorf("test −ELBO fell from %.2f only to %.2f (train loss %.2f → %.2f), want 40%% less",
			before.NegELBO, after.NegELBO, epochs[0].TrainLoss, epochs[11].TrainLoss)
	}
	if len(after.KLPerDim) != 2 || !near(after.KLPerDim[0]+after.KLPerDim[1], after.KL, 1e-3) {
		t.Errorf("KL per dimension %v does not sum to the KL %.4f", after.KLPerDim, after.KL)
	}

	// k = 1: the importance-weighted bound is the single-draw ELBO estimate itself, whose mean over
	// many draws is the ELBO (Evaluate computes it with the KL in closed form, from other draws).
	many := repeated{test, 128 * 40}
	elbo, err := trainer.Evaluate(many)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := trainer.IWAE(many, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !near(k1.NLL, k1.NegELBO, 1e-6) {
		t.Errorf("IWAE with k=1: bound %.6f differs from its own ELBO estimate %.6f", k1.NLL, k1.NegELBO)
	}
	if !near(k1.NLL, elbo.NegELBO, 0.15+0.01*math.Abs(elbo.NegELBO)) {
		t.Errorf("IWAE with k=1 gives %.3f nats, the ELBO is %.3f: they should agree in expectation", k1.NLL, elbo.NegELBO)
	}
	k64, err := trainer.IWAE(test, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("−ELBO %.3f, IWAE k=1 %.3f, k=64 %.3f (its own draws' −ELBO %.3f)", elbo.NegELBO, k1.NLL, k64.NLL, k64.NegELBO)
	if !(k64.NLL < k64.NegELBO && k64.NLL < elbo.NegELBO-0.05) {
		t.Errorf("IWAE k=64 NLL %.3f is not below the −ELBO (%.3f; same draws %.3f)", k64.NLL, elbo.NegELBO, k64.NegELBO)
	}

	// The 2-D helpers return what their documentation promises.
	manifold, err := trainer.Manifold(5)
	if err != nil || manifold.N != 25 || manifold.PerRow != 5 || len(manifold.Values) != 25*64 {
		t.Errorf("Manifold(5) = %d images per row %d (%d values), %v", manifold.N, manifold.PerRow, len(manifold.Values), err)
	}
	traversal, err := trainer.Traverse(test.Values[:64], nil, 7, 3)
	if err != nil || traversal.N != 14 || traversal.PerRow != 7 {
		t.Errorf("Traverse = %d images, per row %d, %v; want 2 rows of 7", traversal.N, traversal.PerRow, err)
	}
	snap, err := trainer.TakeSnapshot(test)
	if err != nil || snap.Reconstructions.N != 16 || snap.Samples.N != 64 {
		t.Errorf("snapshot: %d reconstruction images, %d samples, %v; want 16 and 64", snap.Reconstructions.N, snap.Samples.N, err)
	}
}

func TestExactResume(t *testing.T) {
	images := bars(80, 3) // 5 steps per epoch of 16: the resumed run crosses an epoch boundary.
	cfg := Config{LatentDim: 3, BatchSize: 16, Seed: 11, Gamma: 10, CapacityMax: 5, CapacitySteps: 6}
	straight := tinyTrainer(t, cfg, images)
	if err := straight.Train(context.Background(), TrainOptions{Steps: 8}); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "vae.ckpt")
	first := tinyTrainer(t, cfg, images)
	if err := first.Train(context.Background(), TrainOptions{Steps: 3, CheckpointPath: path}); err != nil {
		t.Fatal(err)
	}
	resumed := tinyTrainer(t, cfg, images)
	if err := resumed.Load(path); err != nil {
		t.Fatal(err)
	}
	if err := resumed.Train(context.Background(), TrainOptions{Steps: 5}); err != nil {
		t.Fatal(err)
	}
	a, b := straight.History(), resumed.History()
	if len(a) != 8 || len(b) != 8 {
		t.Fatalf("histories of %d and %d steps, want 8", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("step %d: straight %+v, resumed %+v", i+1, a[i], b[i])
		}
	}
	if a[7].Epoch != 2 || resumed.EpochCount() != 1 {
		t.Errorf("step 8 in epoch %d with %d epochs complete, want epoch 2 after 1 complete", a[7].Epoch, resumed.EpochCount())
	}
	if a[2].Capacity != 2.5 || a[7].Capacity != 5 {
		t.Errorf("capacities %g at step 3 and %g at step 8, want 2.5 and 5", a[2].Capacity, a[7].Capacity)
	}
	for v := range straight.Store().IterVariables() {
		w := resumed.Store().GetVariable(v.Path())
		if w == nil {
			t.Fatalf("variable %s missing after resume", v.Path())
		}
		if !v.MustValue().Equal(w.MustValue()) {
			t.Errorf("variable %s differs between the straight and the resumed run", v.Path())
		}
	}
	other := tinyTrainer(t, Config{LatentDim: 3, BatchSize: 16, Seed: 12}, images)
	if err := other.Load(path); err == nil {
		t.Error("loading a checkpoint of another configuration succeeded")
	}
}

func TestNaNIsReportedWithAdvice(t *testing.T) {
	images := bars(32, 4)
	images.Values[5] = float32(math.NaN())
	trainer := tinyTrainer(t, Config{LatentDim: 2, BatchSize: 32, Seed: 1}, images)
	_, err := trainer.Step()
	if err == nil || !errors.Is(err, ErrDiverged) {
		t.Fatalf("a NaN pixel gave %v, want ErrDiverged", err)
	}
}

// TestResumeWithAnotherLearningRate: a VAE checkpoint resumes with another learning rate, which
// the optimizer's variable takes and the run records; another seed is still refused.
func TestResumeWithAnotherLearningRate(t *testing.T) {
	images := bars(64, 6)
	cfg := Config{LatentDim: 2, BatchSize: 16, Seed: 3, LearningRate: 1e-3}
	path := filepath.Join(t.TempDir(), "vae.ckpt")
	first := tinyTrainer(t, cfg, images)
	if err := first.Train(context.Background(), TrainOptions{Steps: 2, CheckpointPath: path}); err != nil {
		t.Fatal(err)
	}
	lower := cfg
	lower.LearningRate = 1e-4
	resumed := tinyTrainer(t, lower, images)
	if err := resumed.Load(path); err != nil {
		t.Fatal(err)
	}
	changes := resumed.ConfigChanges()
	if len(changes) != 1 || changes[0].Step != 2 || changes[0].From.LearningRate != 1e-3 || changes[0].To.LearningRate != 1e-4 {
		t.Errorf("changes %+v, want one at step 2 from 1e-3 to 1e-4", changes)
	}
	v := resumed.Store().RootScope().At(optimizer.Scope).GetVariable(optimizer.ParamLearningRate)
	if v == nil || math.Abs(float64(tensors.ToScalar[float32](v.MustValue()))-1e-4) > 1e-9 {
		t.Errorf("learning rate variable after the resume: %v, want 1e-4", v)
	}
	other := cfg
	other.Seed = 4
	if err := tinyTrainer(t, other, images).Load(path); err == nil {
		t.Error("a checkpoint loaded into a run with another seed")
	}
}
