// Package gan is advlab's adversarial training engine: the alternating discriminator/generator step
// of Goodfellow et al. (2014) with one optimizer per network, fixed-noise snapshots, divergence
// detection, and checkpoints that resume bit for bit.
//
// One training step, compiled once into a single graph and run per batch:
//
//	(1) Update D: maximise log D(x) + log(1 − D(G(z)))        (fake detached: no gradient into G)
//	(2) Update G: maximise log D(G(z)) through the UPDATED D     (non-saturating; or minimax)
//
// exactly as pytorch/examples' dcgan (the same fake batch is re-scored by the updated D). With
// Config.DSteps = k > 1, k−1 discriminator-only steps run before each full step.
//
// Networks are plain functions (see Generator and Discriminator): lib/models provides the
// tutorials' architectures; any function with these signatures trains.
package gan

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// Generator maps latent vectors z of shape [batch, latent] to images [batch, height, width,
// channels] with values in [-1, 1]. It creates its variables under scope.
type Generator func(scope *model.Scope, z *graph.Node) *graph.Node

// Discriminator maps images [batch, height, width, channels] to logits [batch] (or [batch, 1])
// and an intermediate feature layer [batch, ...] (used by feature matching; may be nil).
type Discriminator func(scope *model.Scope, x *graph.Node) (logits, features *graph.Node)

// Adam holds one network's Adam hyperparameters.
type Adam struct {
	// LearningRate; the DCGAN papers use 2e-4.
	LearningRate float64
	// Beta1 is the first-moment decay; 0.5 for GANs (the default 0.9 often fails).
	Beta1 float64
	// Beta2 is the second-moment decay; 0.999.
	Beta2 float64
	// Epsilon is added to the denominator; PyTorch's default 1e-8.
	Epsilon float64
}

// DCGANAdam is the optimizer setting of Radford et al. (2016) and pytorch/examples' dcgan.
var DCGANAdam = Adam{LearningRate: 2e-4, Beta1: 0.5, Beta2: 0.999, Epsilon: 1e-8}

// Latent selects the prior p(z).
type Latent int

const (
	// Normal draws z ~ N(0, I) (DCGAN).
	Normal Latent = iota
	// Uniform draws z ~ U(0, 1) (Improved-GAN's MNIST model).
	Uniform
)

// Config holds a GAN run's hyperparameters. Zero fields take the documented defaults (see
// Defaults).
type Config struct {
	// LatentDim is the size of z (default 100).
	LatentDim int
	// BatchSize is the number of real and of fake images per step (default 64).
	BatchSize int
	// Loss is the generator's objective (default NonSaturating).
	Loss Loss
	// Latent is the prior of z (default Normal).
	Latent Latent
	// DSteps is the number of discriminator updates per generator update, k in Goodfellow et al.'s
	// Algorithm 1 (default 1).
	DSteps int
	// D and G are the two networks' optimizers (default DCGANAdam for both).
	D, G Adam
	// RealTarget is the label of real images in D's loss: 1, or e.g. 0.9 for one-sided label
	// smoothing (default 1). Fake images are always labelled 0.
	RealTarget float64
	// FeatureMatching replaces G's adversarial loss by feature matching on the discriminator's
	// features (Salimans et al. 2016, §3.1).
	FeatureMatching bool
	// HistoricalAveraging, when > 0, adds λ·‖θ − mean of past θ‖² to each player's loss
	// (Salimans et al. 2016, §3.3), with λ this value.
	HistoricalAveraging float64
	// Seed makes the run deterministic on a given backend: initial weights, z draws, batch order.
	Seed uint64
	// FixedNoise is the number of fixed latent vectors whose samples form the snapshot grid
	// (default 64).
	FixedNoise int
	// SampleWithRunningStatistics makes Sample (snapshots, evaluation) normalise the generator's
	// batch norms with their running statistics, as Keras' training=False does. By default they use
	// the statistics of the generated batch itself, as pytorch/examples' DCGAN (whose generator is
	// never put in eval mode): running statistics lag behind a generator that is still changing,
	// badly so with Keras' momentum 0.99, and early samples then come out black or saturated.
	SampleWithRunningStatistics bool
	// DivergencePatience is the number of consecutive steps the discriminator loss may stay
	// below DivergenceFloor before training stops as diverged (default 500; negative disables).
	DivergencePatience int
	// DivergenceFloor is the discriminator-loss level counted as "D has won" (default 1e-3).
	DivergenceFloor float64
	// Devices, when > 0, trains data-parallel on the backend's devices 0..Devices−1 through GoMLX's
	// distributed execution (AutoSharding; docs/performance.md, "Multi-device"): each device takes
	// BatchSize/Devices images of every batch, the variables are replicated, and XLA's partitioner
	// sums the gradients and batch statistics across devices, so a step computes the one-device step
	// on the whole batch (up to summation order). It needs XLA through a PJRT plugin; BatchSize must
	// be a multiple of Devices. 0, the default, runs on one device without distribution. A checkpoint
	// resumes with any Devices.
	Devices int
}

// Defaults returns c with every zero field replaced by its default.
func (c Config) Defaults() Config {
	if c.LatentDim == 0 {
		c.LatentDim = 100
	}
	if c.BatchSize == 0 {
		c.BatchSize = 64
	}
	if c.DSteps == 0 {
		c.DSteps = 1
	}
	if c.D == (Adam{}) {
		c.D = DCGANAdam
	}
	if c.G == (Adam{}) {
		c.G = DCGANAdam
	}
	if c.RealTarget == 0 {
		c.RealTarget = 1
	}
	if c.FixedNoise == 0 {
		c.FixedNoise = 64
	}
	if c.DivergencePatience == 0 {
		c.DivergencePatience = 500
	}
	if c.DivergenceFloor == 0 {
		c.DivergenceFloor = 1e-3
	}
	return c
}

// Validate reports the first nonsensical field, naming it and what is expected.
func (c Config) Validate() error {
	switch {
	case c.LatentDim <= 0:
		return fmt.Errorf("gan: LatentDim = %d, want > 0", c.LatentDim)
	case c.BatchSize <= 0:
		return fmt.Errorf("gan: BatchSize = %d, want > 0", c.BatchSize)
	case c.DSteps <= 0:
		return fmt.Errorf("gan: DSteps = %d, want >= 1", c.DSteps)
	case c.RealTarget <= 0 || c.RealTarget > 1:
		return fmt.Errorf("gan: RealTarget = %g, want in (0, 1]", c.RealTarget)
	case c.D.LearningRate <= 0 || c.G.LearningRate <= 0:
		return fmt.Errorf("gan: learning rates D=%g G=%g, want > 0", c.D.LearningRate, c.G.LearningRate)
	case c.Loss != NonSaturating && c.Loss != Minimax:
		return fmt.Errorf("gan: unknown Loss %d", c.Loss)
	case c.HistoricalAveraging < 0:
		return fmt.Errorf("gan: HistoricalAveraging = %g, want >= 0", c.HistoricalAveraging)
	case c.Devices < 0:
		return fmt.Errorf("gan: Devices = %d, want 0 (one device) or the number of devices to train on", c.Devices)
	case c.Devices > 0 && c.BatchSize%c.Devices != 0:
		return fmt.Errorf("gan: BatchSize = %d does not split over Devices = %d, want a multiple of %d", c.BatchSize,
			c.Devices, c.Devices)
	}
	return nil
}
