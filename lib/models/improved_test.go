package models

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/nn"
)

// smallImproved is a small fully connected GAN for the tests: G latent→8→16→784, D 784→16→8→1.
var smallImproved = MLPConfig{GeneratorHidden: []int{8, 16}, DiscriminatorHidden: []int{16, 8}, LeakySlope: 0.2,
	TanhOutput: true, Init: nn.InitDCGAN}

func TestImprovedMLPShapesAndParameterCounts(t *testing.T) {
	const latent, kernels = 10, 6
	gen := latent*8 + 8 + 8*16 + 16 + 16*784 + 784
	disc := 784*16 + 16 + 16*8 + 8 + 8 + 1
	cases := []struct {
		name            string
		config          ImprovedMLPConfig
		genParams, disc int
	}{
		{"plain", ImprovedMLPConfig{Base: smallImproved, LatentDim: latent}, gen, disc},
		// Gaussian noise creates no variables.
		{"noise", ImprovedMLPConfig{Base: smallImproved, LatentDim: latent, InputNoise: 0.3, HiddenNoise: 0.5}, gen, disc},
		// Minibatch discrimination: θ [8, 6, 5], log-scale [6, 5], bias [6]; the output layer reads 8 + 6 features.
		{"minibatch", ImprovedMLPConfig{Base: smallImproved, LatentDim: latent, MinibatchKernels: kernels},
			gen, disc + 8*kernels*5 + kernels*5 + kernels + kernels},
		// Weight normalisation adds one length g per output unit of every dense layer of D.
		{"weight norm", ImprovedMLPConfig{Base: smallImproved, LatentDim: latent, WeightNorm: true}, gen, disc + 16 + 8 + 1},
		// Virtual batch norm adds γ and β to each of G's two hidden layers.
		{"virtual batch norm", ImprovedMLPConfig{Base: smallImproved, LatentDim: latent, VirtualBatchNorm: 4, ReferenceSeed: 1},
			gen + 2*8 + 2*16, disc},
	}
	for _, c := range cases {
		m := ImprovedMLP(c.config, 28, 28, 1)
		images, logits, features, gp, dp := build(t, m)
		if !equal(images, []int{2, 28, 28, 1}) || !equal(logits, []int{2, 1}) || !equal(features, []int{2, 8}) {
			t.Errorf("%s: generator %v, logits %v, features %v; want [2 28 28 1], [2 1], [2 8]", c.name, images, logits, features)
		}
		if gp != c.genParams || dp != c.disc {
			t.Errorf("%s: %d generator and %d discriminator parameters, want %d and %d", c.name, gp, dp, c.genParams, c.disc)
		}
	}
	// With every switch off it is exactly the MLP GAN of its base configuration.
	_, _, _, gp, dp := build(t, ImprovedMLP(ImprovedMLPConfig{Base: MLPLabml}, 28, 28, 1))
	_, _, _, wantG, wantD := build(t, MLP(MLPLabml, 28, 28, 1))
	if gp != wantG || dp != wantD {
		t.Errorf("ImprovedMLP(MLPLabml): %d and %d parameters, MLP(MLPLabml): %d and %d", gp, dp, wantG, wantD)
	}
}

// discriminatorLogits runs m's discriminator once in an evaluation graph on a batch of n images
// whose pixels are all 0 except image 1, whose pixels are all value, and returns the logits.
func discriminatorLogits(t *testing.T, m GAN, n int, value float32) []float32 {
	t.Helper()
	pixels := make([]float32, n*784)
	for i := 784; i < 2*784; i++ {
		pixels[i] = value
	}
	store := model.NewStore()
	store.RootScope().SetParam(model.ParamInitialSeed, int64(7))
	out, err := model.CallOnceN(backend.MustNew(), store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		logits, _ := m.Discriminator(store.Scope("/discriminator"), x)
		return []*graph.Node{logits}
	}, tensors.FromFlatDataAndDimensions(pixels, n, 28, 28, 1))
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0])
}

// TestImprovedMLPMinibatchSeesTheBatch checks what minibatch discrimination is for: with it, the
// logit of image 0 changes when another image of the batch (image 1) changes; without it, it does
// not.
func TestImprovedMLPMinibatchSeesTheBatch(t *testing.T) {
	for _, kernels := range []int{0, 6} {
		m := ImprovedMLP(ImprovedMLPConfig{Base: smallImproved, LatentDim: 10, MinibatchKernels: kernels}, 28, 28, 1)
		a, b := discriminatorLogits(t, m, 4, 0), discriminatorLogits(t, m, 4, 1)
		change := math.Abs(float64(a[0] - b[0]))
		t.Logf("%d kernels: logit of image 0 %.6f → %.6f when image 1 changes", kernels, a[0], b[0])
		if kernels == 0 && change != 0 {
			t.Errorf("without minibatch discrimination image 0's logit moved by %g", change)
		}
		if kernels > 0 && change < 1e-6 {
			t.Errorf("with minibatch discrimination image 0's logit moved by only %g", change)
		}
	}
}

// TestImprovedMLPVirtualBatchNormIsPerExample checks that with virtual batch normalisation a
// generated image depends only on its own z (and the fixed reference batch), not on the other
// examples of the batch, as it would with batch normalisation.
func TestImprovedMLPVirtualBatchNormIsPerExample(t *testing.T) {
	const latent = 10
	m := ImprovedMLP(ImprovedMLPConfig{Base: smallImproved, LatentDim: latent, VirtualBatchNorm: 4, ReferenceSeed: 3}, 28, 28, 1)
	store := model.NewStore()
	store.RootScope().SetParam(model.ParamInitialSeed, int64(7))
	exec := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, z *graph.Node) *graph.Node {
		store.SetTraining(z.Graph(), true)
		return m.Generator(store.Scope("/generator"), z)
	})
	z := ReferenceLatents(3, latent, 99) // three latent vectors
	first := tensors.MustCopyFlatData[float32](exec.MustExec(tensors.FromFlatDataAndDimensions(z, 3, latent))[0])
	for i := latent; i < len(z); i++ { // change examples 1 and 2
		z[i] *= -2
	}
	second := tensors.MustCopyFlatData[float32](exec.MustExec(tensors.FromFlatDataAndDimensions(z, 3, latent))[0])
	if len(first) != 3*784 {
		t.Fatalf("generator returned %d values, want 3·784 (the reference rows removed)", len(first))
	}
	for i := 0; i < 784; i++ {
		if math.Abs(float64(first[i]-second[i])) > 1e-6 {
			t.Fatalf("pixel %d of image 0 moved from %g to %g when the other examples changed", i, first[i], second[i])
		}
	}
}

// TestImprovedMLPLatentScale checks that scaling z down makes the generator's outputs for
// different z nearly the same (the collapsed generator of notebook 04): the mean absolute
// difference between the images of two latent vectors shrinks with the scale.
func TestImprovedMLPLatentScale(t *testing.T) {
	const latent = 10
	z := ReferenceLatents(2, latent, 5)
	spread := func(scale float64) float64 {
		m := ImprovedMLP(ImprovedMLPConfig{Base: smallImproved, LatentDim: latent, LatentScale: scale}, 28, 28, 1)
		store := model.NewStore()
		store.RootScope().SetParam(model.ParamInitialSeed, int64(7))
		out, err := model.CallOnceN(backend.MustNew(), store, func(scope *model.Scope, z *graph.Node) []*graph.Node {
			return []*graph.Node{m.Generator(store.Scope("/generator"), z)}
		}, tensors.FromFlatDataAndDimensions(z, 2, latent))
		if err != nil {
			t.Fatal(err)
		}
		images := tensors.MustCopyFlatData[float32](out[0])
		total := 0.0
		for i := 0; i < 784; i++ {
			total += math.Abs(float64(images[i] - images[784+i]))
		}
		return total / 784
	}
	full, small := spread(1), spread(0.01)
	t.Logf("mean |G(z1) − G(z2)| per pixel: %.3g at scale 1, %.3g at scale 0.01", full, small)
	if !(small < full/20) {
		t.Errorf("scale 0.01 gave a spread of %g, want below 1/20 of scale 1's %g", small, full)
	}
}
