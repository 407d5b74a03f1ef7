// Package vae is advlab's variational autoencoder engine: the ELBO with the reparameterisation trick
// (Kingma & Welling 2014), the β-VAE (Higgins et al. 2017) and its capacity-annealed variant
// (Burgess et al. 2018), per-dimension KL, importance-weighted log-likelihood estimates (Burda et
// al. 2016), snapshots (reconstructions, samples), latent traversals and 2-D manifolds, and
// checkpoints that resume bit for bit. It has the same shape as lib/gan: a Config with documented
// defaults, New, Step, Train with TrainOptions and callbacks, Save and Load.
//
// One training step, compiled once into a single graph and run per batch:
//
//	(1) Encode:      μ, log σ² = encoder(x)
//	(2) Sample:      z = μ + σ ⊙ ε, ε ~ N(0, I)                  (reparameterisation: ε drawn on the host)
//	(3) Decode:      l = decoder(z)                              (Bernoulli logits or Gaussian means)
//	(4) Minimise:    −log p(x|z) + β·KL(q(z|x) ‖ N(0, I))        (or γ·|KL − C| with C annealed)
//
// averaged over the batch, with Adam. With β = 1 the loss is the negative ELBO,
//
//	−ELBO(x) = −E_q(z|x)[log p(x|z)] + KL(q(z|x) ‖ p(z)) ≥ −log p(x),
//
// estimated with one draw of z per image, exactly as pytorch/examples/vae (whose reported "loss"
// is this quantity per image; it sums over the batch where advlab averages, which Adam's scale
// invariance makes equivalent).
//
// Networks are plain functions (see Encoder and Decoder): lib/models provides pytorch/examples'
// MLP VAE and VAAL's convolutional VAE; any functions with these signatures train.
package vae

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/data"
)

// Encoder maps images x [batch, height, width, channels] with values in [0, 1] to the parameters
// μ and log σ² of the diagonal Gaussian posterior q(z|x), each [batch, latent]. It creates its
// variables under scope.
type Encoder func(scope *model.Scope, x *graph.Node) (mu, logvar *graph.Node)

// Decoder maps latent vectors z [batch, latent] to the decoder's raw output [batch, height, width,
// channels]: Bernoulli logits or Gaussian means, as Config.Likelihood says. It creates its
// variables under scope.
type Decoder func(scope *model.Scope, z *graph.Node) *graph.Node

// Scope paths of the two networks' variables.
const (
	EncoderScope = "/encoder"
	DecoderScope = "/decoder"
)

// Config holds a VAE run's hyperparameters. Zero fields take the documented defaults (see
// Defaults); the defaults are pytorch/examples/vae's.
type Config struct {
	// LatentDim is the size of z (default 20). It must match the encoder's and decoder's.
	LatentDim int
	// BatchSize is the number of images per step (default 128).
	BatchSize int
	// LearningRate is Adam's step size (default 1e-3). Adam's other settings are PyTorch's
	// defaults: β₁ 0.9, β₂ 0.999, ε 1e-8.
	LearningRate float64
	// Likelihood is the decoder's distribution p(x|z) (default Bernoulli).
	Likelihood Likelihood
	// ObservationVariance is σ² of the Gaussian likelihood (default 1; used only with Gaussian).
	ObservationVariance float64
	// Beta weights the KL term: 1 is the VAE, > 1 the β-VAE of Higgins et al. (2017) (default 1;
	// ignored when Gamma > 0). Zero means the default; for a plain autoencoder use a tiny β.
	Beta float64
	// Gamma, when > 0, selects the capacity objective of Burgess et al. (2018): γ·|KL − C| replaces
	// β·KL (1Konny/Beta-VAE uses γ = 1000 with C_max = 25 on CelebA). Default 0 (off).
	Gamma float64
	// CapacityMax is C_max in nats, the KL target reached at the end of the annealing (used only
	// with Gamma > 0).
	CapacityMax float64
	// CapacitySteps is the number of steps over which C rises linearly from 0 to CapacityMax (used
	// only with Gamma > 0; 0 means C = CapacityMax from the start).
	CapacitySteps int
	// Seed makes the run deterministic on a given backend: initial weights, ε draws, batch order.
	Seed uint64
	// Devices, when > 0, trains data-parallel on the backend's devices 0..Devices−1 (lib/parallel):
	// each device takes BatchSize/Devices images of every batch and the variables are replicated;
	// a step equals the one-device step up to summation order. It needs XLA (on one CPU:
	// GOMLX_BACKEND=xla:cpu,devices=N); BatchSize must be a multiple of Devices. 0, the default,
	// runs on one device without distribution. A checkpoint resumes with any Devices.
	Devices int
	// Snapshot is the number of test images shown with their reconstructions and the number of
	// fixed latent vectors whose decodings form the sample grid: (default 8 and 64, pytorch/examples'
	// reconstruction and sample images).
	Snapshot SnapshotSize
}

// SnapshotSize says how many images a Snapshot holds.
type SnapshotSize struct {
	// Reconstructions is the number of originals shown above their reconstructions (default 8).
	Reconstructions int
	// Samples is the number of decodings of fixed z ~ N(0, I) (default 64).
	Samples int
}

// Defaults returns c with every zero field replaced by its default.
func (c Config) Defaults() Config {
	if c.LatentDim == 0 {
		c.LatentDim = 20
	}
	if c.BatchSize == 0 {
		c.BatchSize = 128
	}
	if c.LearningRate == 0 {
		c.LearningRate = 1e-3
	}
	if c.ObservationVariance == 0 {
		c.ObservationVariance = 1
	}
	if c.Beta == 0 {
		c.Beta = 1
	}
	if c.Snapshot.Reconstructions == 0 {
		c.Snapshot.Reconstructions = 8
	}
	if c.Snapshot.Samples == 0 {
		c.Snapshot.Samples = 64
	}
	return c
}

// Validate reports the first nonsensical field, naming it and what is expected.
func (c Config) Validate() error {
	switch {
	case c.LatentDim <= 0:
		return fmt.Errorf("vae: LatentDim = %d, want > 0", c.LatentDim)
	case c.BatchSize <= 0:
		return fmt.Errorf("vae: BatchSize = %d, want > 0", c.BatchSize)
	case c.LearningRate <= 0:
		return fmt.Errorf("vae: LearningRate = %g, want > 0", c.LearningRate)
	case c.Likelihood != Bernoulli && c.Likelihood != Gaussian && c.Likelihood != MSE:
		return fmt.Errorf("vae: unknown Likelihood %d", c.Likelihood)
	case c.ObservationVariance <= 0:
		return fmt.Errorf("vae: ObservationVariance = %g, want > 0", c.ObservationVariance)
	case c.Beta < 0:
		return fmt.Errorf("vae: Beta = %g, want >= 0", c.Beta)
	case c.Gamma < 0:
		return fmt.Errorf("vae: Gamma = %g, want >= 0", c.Gamma)
	case c.Gamma > 0 && c.CapacityMax < 0:
		return fmt.Errorf("vae: CapacityMax = %g, want >= 0", c.CapacityMax)
	case c.CapacitySteps < 0:
		return fmt.Errorf("vae: CapacitySteps = %d, want >= 0", c.CapacitySteps)
	case c.Snapshot.Reconstructions < 0 || c.Snapshot.Samples < 0:
		return fmt.Errorf("vae: Snapshot sizes %+v, want >= 0", c.Snapshot)
	case c.Devices < 0:
		return fmt.Errorf("vae: Devices = %d, want 0 (one device) or the number of devices to train on", c.Devices)
	case c.Devices > 0 && c.BatchSize%c.Devices != 0:
		return fmt.Errorf("vae: BatchSize = %d does not split over Devices = %d, want a multiple of %d", c.BatchSize,
			c.Devices, c.Devices)
	}
	return nil
}

// Images is the data a VAE learns from: n images of one shape, gathered into float32 NHWC batches
// with values in [0, 1]. A lib/data Set serves as data.Images{Set: set} (each pixel p becomes
// p/255: torchvision's ToTensor, as pytorch/examples/vae feeds MNIST); float images already in
// [0, 1] as Floats.
type Images interface {
	// Len is the number of images.
	Len() int
	// Shape is the height, width and channels of one image.
	Shape() (height, width, channels int)
	// Gather writes the images at indices, scaled to [0, 1], into dst (len(indices)·h·w·c floats).
	Gather(indices []int, dst []float32)
}

// Floats is lib/data's in-memory set of float32 NHWC images, here with values in [0, 1].
type Floats = data.Floats

// ImageBatch is a batch of images as the engine returns them: N images of Height x Width x
// Channels, NHWC, flattened into Values (what viz.Grid takes).
type ImageBatch struct {
	// Values holds N·Height·Width·Channels floats, NHWC; decoder means are in [0, 1] for the
	// Bernoulli likelihood.
	Values []float32
	// N, Height, Width, Channels give the shape.
	N, Height, Width, Channels int
	// PerRow, when > 0, is the number of images per row the batch is laid out for (a traversal's
	// steps, a manifold's side); 0 leaves the choice to the viewer.
	PerRow int
}
