package gan

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
)

// TestOneSidedLabelSmoothing checks DiscriminatorLoss with RealTarget 0.9 (Salimans et al. 2016,
// §3.4) against its formula on a discriminator that classifies perfectly (real logits +4 and +6,
// fake logits −4 and −6):
//
//	L = mean_real[−0.9·log σ(l) − 0.1·log(1 − σ(l))] + mean_fake[−log(1 − σ(l))]
//
// and that the smoothed loss is minimised by D(x) = 0.9 (logit log 9), not by D(x) → 1.
func TestOneSidedLabelSmoothing(t *testing.T) {
	exec := graph.MustNewExec(backend.MustNew(), func(real, fake *graph.Node) []*graph.Node {
		loss := DiscriminatorLoss(real, fake, 0.9)
		return append([]*graph.Node{loss}, graph.Gradient(loss, real)...)
	})
	sigmoid := func(l float64) float64 { return 1 / (1 + math.Exp(-l)) }
	realLogits, fakeLogits := []float64{4, 6}, []float64{-4, -6}
	want := 0.0
	for i := range realLogits {
		want += (-0.9*math.Log(sigmoid(realLogits[i])) - 0.1*math.Log(1-sigmoid(realLogits[i]))) / 2
		want += -math.Log(1-sigmoid(fakeLogits[i])) / 2
	}
	out := exec.MustExec(realLogits, fakeLogits)
	got := tensors.ToScalar[float64](out[0])
	t.Logf("D loss with real target 0.9 on a perfect D: %.10f (formula %.10f)", got, want)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("D loss %.12f, formula %.12f", got, want)
	}
	// The gradient with respect to a real logit is (σ(l) − 0.9)/2: positive for a confident D,
	// zero at σ(l) = 0.9.
	grad := tensors.MustCopyFlatData[float64](exec.MustExec([]float64{6, math.Log(9)}, fakeLogits)[1])
	if math.Abs(grad[0]-(sigmoid(6)-0.9)/2) > 1e-12 || math.Abs(grad[1]) > 1e-12 {
		t.Errorf("gradient w.r.t. real logits %v, want [%.6f 0]", grad, (sigmoid(6)-0.9)/2)
	}
}

// TestHistoricalAveragingPenalty runs the trainer's historical-averaging term on the
// discriminator three times with weights θ1, θ2, θ3 set by hand, and checks each penalty against
// λ‖θ_t − θ̄_t‖², θ̄_t = (θ1 + … + θt)/t (Salimans et al. 2016, §3.3), and its gradient 2λ(θ_t − θ̄_t).
func TestHistoricalAveragingPenalty(t *testing.T) {
	const lambda = 0.5
	cfg := tinyConfig()
	cfg.HistoricalAveraging = lambda
	tr, err := New(backend.MustNew(), cfg, tinyGenerator, tinyDiscriminator, tinyData(64))
	if err != nil {
		t.Fatal(err)
	}
	const path = DiscriminatorScope + "/fc1/weights"
	exec := model.MustNewExec(backend.MustNew(), tr.store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		tr.discriminate(x) // puts D's variables in use by the graph
		penalty := tr.historicalAverage(x.Graph(), DiscriminatorScope)
		return []*graph.Node{penalty, graph.Gradient(penalty, tr.store.GetVariable(path).NodeValue(x.Graph()))[0]}
	})
	x := tensors.FromFlatDataAndDimensions(make([]float32, 4*4), 4, 2, 2, 1)
	out := exec.MustExec(x) // step 1: θ̄ = θ1, penalty 0.
	if p := tensors.ToScalar[float32](out[0]); p != 0 {
		t.Errorf("penalty at the first step %g, want 0", p)
	}
	// Collect θ1 of every trainable D variable, then set θ2 and θ3 by hand.
	rng := rand.New(rand.NewPCG(1, 2))
	var vars []*model.Variable
	history := map[string][][]float32{}
	for v := range tr.store.Scope(DiscriminatorScope).IterVariables() {
		if v.Trainable {
			vars = append(vars, v)
			history[v.Path()] = [][]float32{tensors.MustCopyFlatData[float32](v.MustValue())}
		}
	}
	for step := 2; step <= 3; step++ {
		want := 0.0
		var wantGrad []float32
		for _, v := range vars {
			theta := append([]float32(nil), history[v.Path()][0]...)
			for i := range theta {
				theta[i] += float32(0.1 * rng.NormFloat64())
			}
			history[v.Path()] = append(history[v.Path()], theta)
			v.MustSetValue(tensors.FromFlatDataAndDimensions(theta, v.Shape().Dimensions...))
			for i := range theta {
				mean := 0.0
				for _, past := range history[v.Path()] {
					mean += float64(past[i]) / float64(step)
				}
				d := float64(theta[i]) - mean
				want += lambda * d * d
				if v.Path() == path {
					wantGrad = append(wantGrad, float32(2*lambda*d))
				}
			}
		}
		out := exec.MustExec(x)
		got := float64(tensors.ToScalar[float32](out[0]))
		t.Logf("step %d: penalty %.6f, by hand λ‖θ−θ̄‖² = %.6f", step, got, want)
		if math.Abs(got-want) > 1e-5*max(1, want) {
			t.Errorf("step %d: penalty %.7f, by hand %.7f", step, got, want)
		}
		for i, g := range tensors.MustCopyFlatData[float32](out[1]) {
			if math.Abs(float64(g-wantGrad[i])) > 1e-5 {
				t.Fatalf("step %d: gradient[%d] %g, want 2λ(θ−θ̄) = %g", step, i, g, wantGrad[i])
			}
		}
	}
}

// TestFeatureMatchingGradient checks the feature-matching loss (Salimans et al. 2016, §3.1): zero
// with zero gradient when the fake features have the real batch's mean (here: the same rows in
// another order), and otherwise mean_f(δ_f²) with gradient 2δ_f/(F·B) for a mean shift δ; no
// gradient reaches the real features.
func TestFeatureMatchingGradient(t *testing.T) {
	exec := graph.MustNewExec(backend.MustNew(), func(real, fake *graph.Node) []*graph.Node {
		loss := FeatureMatching(real, fake)
		return append([]*graph.Node{loss}, graph.Gradient(loss, fake, real)...)
	})
	real := [][]float64{{1, 2, 3}, {4, 5, 6}, {-1, 0, 2}, {0, 1, -3}}
	permuted := [][]float64{real[2], real[0], real[3], real[1]}
	out := exec.MustExec(real, permuted)
	if loss := tensors.ToScalar[float64](out[0]); math.Abs(loss) > 1e-15 {
		t.Errorf("loss with equal feature means %g, want 0", loss)
	}
	for _, g := range tensors.MustCopyFlatData[float64](out[1]) {
		if math.Abs(g) > 1e-15 {
			t.Fatalf("G's gradient with equal feature means %v, want 0", tensors.MustCopyFlatData[float64](out[1]))
		}
	}
	shift := []float64{0.5, -1, 2}
	shifted := make([][]float64, len(real))
	for i, row := range real {
		shifted[i] = []float64{row[0] + shift[0], row[1] + shift[1], row[2] + shift[2]}
	}
	out = exec.MustExec(real, shifted)
	wantLoss := (0.25 + 1 + 4) / 3
	if loss := tensors.ToScalar[float64](out[0]); math.Abs(loss-wantLoss) > 1e-12 {
		t.Errorf("loss %g, want mean δ² = %g", loss, wantLoss)
	}
	grad := tensors.MustCopyFlatData[float64](out[1])
	for i, g := range grad {
		if want := 2 * shift[i%3] / (3 * 4); math.Abs(g-want) > 1e-12 {
			t.Fatalf("gradient w.r.t. fake features %v, want 2δ/(F·B) = %g at %d", grad, want, i)
		}
	}
	for _, g := range tensors.MustCopyFlatData[float64](out[2]) {
		if g != 0 {
			t.Fatal("gradient reached the real features; FeatureMatching must stop it")
		}
	}
}

// TestTechniqueOptionsTrain runs the tiny GAN with the three options on for a few steps: the
// losses stay finite, G's reported loss is the feature-matching loss (non-negative, and it falls),
// and the D loss never goes below H(0.9) = 0.325 nats, the smallest value the smoothed real term
// can take (the fake term is non-negative).
func TestTechniqueOptionsTrain(t *testing.T) {
	cfg := tinyConfig()
	cfg.FeatureMatching = true
	cfg.RealTarget = 0.9
	cfg.HistoricalAveraging = 1e-3
	tr, err := New(backend.MustNew(), cfg, tinyGenerator, tinyDiscriminator, tinyData(256))
	if err != nil {
		t.Fatal(err)
	}
	const steps = 150
	for i := 0; i < steps; i++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	h := tr.History()
	floor := -0.9*math.Log(0.9) - 0.1*math.Log(0.1)
	early, late := 0.0, 0.0
	for i, m := range h {
		if m.GLoss < 0 || m.DLoss < floor-1e-6 {
			t.Fatalf("step %d: G loss %g (feature matching is >= 0), D loss %g (>= H(0.9) = %.4f with smoothing)",
				m.Step, m.GLoss, m.DLoss, floor)
		}
		if i < 10 {
			early += m.GLoss / 10
		}
		if i >= steps-10 {
			late += m.GLoss / 10
		}
	}
	t.Logf("feature-matching G loss: first 10 steps %.5f, last 10 %.5f", early, late)
	if late >= early {
		t.Errorf("feature-matching loss did not fall: %.5f → %.5f", early, late)
	}
}
