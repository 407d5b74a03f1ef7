package models

import (
	"math/rand/v2"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/nn"
)

// ImprovedMLPConfig is a fully connected GAN with switches for the techniques of Salimans et al.
// (2016), "Improved Techniques for Training GANs", that are layers of the networks. The techniques
// that are terms of the losses (feature matching, one-sided label smoothing, historical averaging)
// are options of lib/gan's Config instead. With every switch off it is the plain MLP GAN of Base.
type ImprovedMLPConfig struct {
	// Base gives the hidden widths, the activation and the initialisation of both networks.
	Base MLPConfig
	// LatentDim is the size of z (default 100).
	LatentDim int
	// MinibatchKernels, when > 0, appends minibatch discrimination (§3.2) with this many kernels
	// to the discriminator's last hidden layer (openai/improved-gan: 100).
	MinibatchKernels int
	// MinibatchKernelDim is the dimension C of each minibatch kernel (default 5, as the reference).
	MinibatchKernelDim int
	// InputNoise is the standard deviation of the Gaussian noise added to the discriminator's
	// input in training graphs (0: none; openai/improved-gan's MNIST discriminator: 0.3).
	InputNoise float64
	// HiddenNoise is the standard deviation of the Gaussian noise added before each of the
	// discriminator's hidden layers after the first (0: none; the reference: 0.5).
	HiddenNoise float64
	// WeightNorm makes every dense layer of the discriminator weight-normalised (Salimans &
	// Kingma 2016): w = g·v/‖v‖, with a trainable length g starting at 1.
	WeightNorm bool
	// VirtualBatchNorm, when > 0, normalises every hidden layer of the generator with virtual
	// batch normalisation (§3.4) against a fixed reference batch of this many latent vectors.
	VirtualBatchNorm int
	// LatentScale multiplies z before the generator's first layer (0 means 1). A small value, such
	// as notebook 04's 0.01 (the same as drawing z from N(0, 0.01²·I)), makes a generator whose
	// output hardly depends on z: a GAN that starts collapsed and stays so unless a technique
	// makes it use its noise.
	LatentScale float64
	// ReferenceSeed draws the reference batch of virtual batch normalisation (z ~ N(0, I)).
	ReferenceSeed uint64
}

// ImprovedMLP returns the fully connected GAN of c for images of the given shape.
//
// Generator: z [B, latent] → [×LatentScale] → for each hidden width w: Dense(w) → [VBN] → activation → Dense(H·W·C)
// → tanh. Discriminator: image → flatten → [noise σ_in] → for each hidden width w: [noise σ_h]
// Dense(w) (or weight-normalised) → activation → [minibatch discrimination] → Dense(1). The
// features it returns for feature matching are those of the last hidden layer, before minibatch
// discrimination.
func ImprovedMLP(c ImprovedMLPConfig, height, width, channels int) GAN {
	latent := c.LatentDim
	if latent == 0 {
		latent = 100
	}
	kernelDim := c.MinibatchKernelDim
	if kernelDim == 0 {
		kernelDim = 5
	}
	pixels := height * width * channels
	base := c.Base
	gen := func(scope *model.Scope, z *graph.Node) *graph.Node {
		nn.SetInit(scope, base.Init)
		x := z // [R+B, latent] with VBN (the reference rows first), else [B, latent]
		if c.LatentScale != 0 {
			x = graph.MulScalar(x, c.LatentScale)
		}
		for i, w := range base.GeneratorHidden {
			x = nn.Dense(scope.In("fc%d", i+1), x, w) // [·, w]
			if c.VirtualBatchNorm > 0 {
				x = nn.VirtualBatchNorm(scope.In("vbn%d", i+1), x, c.VirtualBatchNorm).Done() // [·, w]
			}
			x = base.activate(x)
		}
		x = nn.Dense(scope.In("out"), x, pixels) // [·, H·W·C]
		if base.TanhOutput {
			x = graph.Tanh(x)
		}
		return graph.Reshape(x, -1, height, width, channels) // [·, H, W, C]
	}
	generator := gen
	if c.VirtualBatchNorm > 0 {
		generator = nn.WithReferenceBatch(gen, ReferenceLatents(c.VirtualBatchNorm, latent, c.ReferenceSeed), latent)
	}
	dense := func(scope *model.Scope, x *graph.Node, outputs int) *graph.Node {
		if c.WeightNorm {
			return nn.WeightNormDense(scope, x, outputs).Done()
		}
		return nn.Dense(scope, x, outputs)
	}
	disc := func(scope *model.Scope, images *graph.Node) (*graph.Node, *graph.Node) {
		nn.SetInit(scope, base.Init)
		x := graph.Reshape(images, images.Shape().Dimensions[0], pixels) // [B, H·W·C]
		x = nn.GaussianNoise(scope, x, c.InputNoise)                     // [B, H·W·C]
		for i, w := range base.DiscriminatorHidden {
			if i > 0 {
				x = nn.GaussianNoise(scope, x, c.HiddenNoise)
			}
			x = base.activate(dense(scope.In("fc%d", i+1), x, w)) // [B, w]
		}
		features := x // [B, last hidden]
		if c.MinibatchKernels > 0 {
			x = nn.MinibatchDiscrimination(scope.In("minibatch"), x).
				Kernels(c.MinibatchKernels).KernelDim(kernelDim).Done() // [B, last hidden + kernels]
		}
		return dense(scope.In("out"), x, 1), features // logits [B, 1], features [B, last hidden]
	}
	return GAN{Name: "improved-mlp", Generator: generator, Discriminator: disc, LatentDim: latent,
		Height: height, Width: width, Channels: channels}
}

// ReferenceLatents draws the fixed reference batch of virtual batch normalisation: n latent
// vectors of size latent from N(0, I), deterministic in seed ([n, latent] flat).
func ReferenceLatents(n, latent int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x7b7e4e))
	z := make([]float32, n*latent)
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	return z
}
