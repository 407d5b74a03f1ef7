// Package ssl is advlab's semi-supervised GAN engine: the K-logit discriminator of Salimans et al.
// (2016, "Improved Techniques for Training GANs", §5) trained on a few labelled images, many
// unlabelled images and a generator's samples, with the generator trained by feature matching
// (§3.1). It has the same shape as lib/gan and lib/vae: a Config with documented defaults, New (and
// NewSupervised for the baseline), Step, Train with TrainOptions and callbacks, Save and Load.
//
// The classifier has K outputs l_1..l_K (no (K+1)-th "fake" output: fixing that logit at 0 loses
// nothing, since softmax is invariant to a shift). With Z(x) = Σ_k exp(l_k(x)) its probability that
// x is real is
//
//	D(x) = Z(x) / (Z(x) + 1) = σ(LSE(l(x))),   LSE = log Σ_k exp l_k,
//
// and one training step, compiled once into a single graph and run per batch, is exactly the one of
// openai/improved-gan's train_mnist_feature_matching.py:
//
//	(1) Update D: minimise  L_lab + w·L_unl                                  (w = UnlabeledWeight, 1)
//	      L_lab = −mean l_y(x_lab) + mean LSE(l(x_lab))                       (softmax cross-entropy)
//	      L_unl = −½ mean LSE(l(x_unl)) + ½ mean softplus(LSE(l(x_unl))) + ½ mean softplus(LSE(l(G(z))))
//	            = −½ E log D(x_unl) − ½ E log(1 − D(G(z)))
//	(2) Update G: minimise  mean_f (mean_batch f(G(z')) − mean_batch f(x_unl2))²   (feature matching)
//
// where f is the classifier's features (the last hidden layer) and x_unl2 is a second,
// independently shuffled unlabelled batch. The labelled images (N per class, lib/data's
// SplitLabelled) are tiled against the unlabelled set each epoch, each copy freshly shuffled, as
// the reference does; the unlabelled set is every training image, labelled ones included (the
// reference's trainx_unl), and no other label is ever read: unlike the popular "SGAN" code of
// PyTorch-GAN and Keras-GAN, which trains on every label (issues Keras-GAN#185, PyTorch-GAN#73).
//
// The supervised baseline (NewSupervised) trains the same classifier on the same labelled images
// with L_lab alone: the number the unlabelled data and the generator have to beat.
package ssl

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best with the ops unqualified.
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/nn"
)

// Classifier maps images [batch, height, width, channels] to K logits [batch, K] and the features
// [batch, F] that feature matching compares (the last hidden layer). It creates its variables
// under scope.
type Classifier func(scope *model.Scope, x *Node) (logits, features *Node)

// Generator maps latent vectors z [batch, latent] to images [batch, height, width, channels] in the
// range of the training images (e.g. a sigmoid for images in [0, 1]). It creates its variables
// under scope.
type Generator func(scope *model.Scope, z *Node) *Node

// Scope paths of the two networks' variables, and of the classifier's moving averages (the same
// variables under AverageScope, see Config.AverageRate, and under ReferenceAverageScope, see
// Config.ReferenceAverageRate).
const (
	ClassifierScope       = "/discriminator"
	GeneratorScope        = "/generator"
	AverageScope          = "/discriminator_average"
	ReferenceAverageScope = "/discriminator_reference_average"
)

// FeatureDistance selects how feature matching compares the two batches' mean features.
type FeatureDistance int

const (
	// MeanSquared is mean_f (E f(G(z)) − E f(x))², the reference MNIST code's.
	MeanSquared FeatureDistance = iota
	// MeanAbsolute is mean_f |E f(G(z)) − E f(x)|, the reference CIFAR-10 and SVHN code's.
	MeanAbsolute
)

// Config holds a semi-supervised GAN run's hyperparameters. Zero fields take the documented
// defaults (see Defaults), which are those of openai/improved-gan's MNIST run
// (train_mnist_feature_matching.py).
type Config struct {
	// NumClasses is K, the number of classes and of the classifier's logits (default 10).
	NumClasses int
	// LatentDim is the size of z (default 100).
	LatentDim int
	// NormalLatent draws z ~ N(0, I) instead of the reference's z ~ U(0, 1) (default false).
	NormalLatent bool
	// BatchSize is the number of labelled, of unlabelled and of generated images per step
	// (default 100).
	BatchSize int
	// LearningRate is both networks' Adam step size (default 0.003).
	LearningRate float64
	// Beta1 and Beta2 are Adam's moment decays (default 0.5 and 0.999).
	Beta1, Beta2 float64
	// Epsilon is Adam's ε, added to the square root of the second moment (default 1e-4). The
	// reference's Adam (nn.adam_updates) adds 1e-8 *inside* the square root, √(v̂ + 1e-8), which
	// floors the denominator at 1e-4: parameters whose gradients are far below 1e-4 move by
	// lr·g/1e-4 rather than by about lr. ε = 1e-4 outside the root reproduces that floor (to within
	// a factor √2 near v̂ = 1e-8); PyTorch's default 1e-8 instead moves every parameter by about lr
	// per step, however small its gradient.
	Epsilon float64
	// UnlabeledWeight is w, the weight of L_unl in the classifier's loss (default 1).
	UnlabeledWeight float64
	// FeatureDistance is feature matching's distance (default MeanSquared).
	FeatureDistance FeatureDistance
	// DataInit is the number of training images (drawn from the unlabelled set with the seed) on
	// which weight-normalised layers are initialised from data before the first step (Salimans &
	// Kingma 2016, §3; nn.SetDataInit). Default 500, as the reference; negative disables.
	DataInit int
	// AverageRate is the rate r of the exponential moving average of the classifier's weights,
	// θ̄ ← θ̄ + r·(θ − θ̄) after every update, whose test error Evaluate reports beside the current
	// weights' (EvalMetrics.Averaged). The reference evaluates such an average (rate 1e-4 over its
	// 180,000 steps, started at zero); advlab starts it from the first update's weights and
	// defaults to r = 1e-3, a window of about 1,000 steps for runs 10 to 100 times shorter than
	// the reference's. Negative disables the average.
	AverageRate float64
	// ReferenceAverageRate, when > 0, keeps a second moving average of the classifier's weights as
	// openai/improved-gan keeps its own (rate 1e-4): started from zeros and taken before each update,
	// θ̃ ← θ̃ + r·(θ_before − θ̃), so that after n updates it weighs the initial weights too and is
	// scaled by 1 − (1 − r)ⁿ. Evaluate reports it as EvalMetrics.ReferenceAveraged. 0, the default,
	// keeps no such average.
	ReferenceAverageRate float64
	// ReferenceAdam uses Adam as the reference's nn.adam_updates writes it, with Epsilon inside the
	// square root, √(v̂ + ε) (nn.ReferenceAdam), and Epsilon then defaults to the reference's 1e-8.
	ReferenceAdam bool
	// Seed makes the run deterministic on a given backend: initial weights, z draws, batch order.
	Seed uint64
	// Devices, when > 0, trains data-parallel on the backend's devices 0..Devices−1 (lib/parallel):
	// each device takes BatchSize/Devices images of each of the step's batches and the variables are
	// replicated; a step equals the one-device step up to summation order. It needs XLA (on one
	// CPU: GOMLX_BACKEND=xla:cpu,devices=N); BatchSize must be a multiple of Devices. 0, the
	// default, runs on one device without distribution. A checkpoint resumes with any Devices.
	Devices int
	// SeparateBatches applies the classifier to each of the step's batches on its own (labelled,
	// unlabelled and generated in D's update; generated and the second unlabelled batch in G's), as
	// openai/improved-gan's code does. By default it runs once on their concatenation in each
	// update: the same step for a classifier that treats every image on its own, as the library's
	// do (Gaussian noise, dropout and weight norm, no batch statistics), with larger matrix products
	// and the weight normalisation computed once instead of three times. A classifier with batch
	// normalisation needs SeparateBatches, or its statistics mix the batches.
	SeparateBatches bool
	// FixedNoise is the number of fixed latent vectors whose samples form the snapshot grid
	// (default 100).
	FixedNoise int
}

// Defaults returns c with every zero field replaced by its default.
func (c Config) Defaults() Config {
	if c.NumClasses == 0 {
		c.NumClasses = 10
	}
	if c.LatentDim == 0 {
		c.LatentDim = 100
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.003
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.5
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Epsilon == 0 && c.ReferenceAdam {
		c.Epsilon = 1e-8
	} else if c.Epsilon == 0 {
		c.Epsilon = 1e-4
	}
	if c.UnlabeledWeight == 0 {
		c.UnlabeledWeight = 1
	}
	if c.DataInit == 0 {
		c.DataInit = 500
	}
	if c.FixedNoise == 0 {
		c.FixedNoise = 100
	}
	if c.AverageRate == 0 {
		c.AverageRate = 1e-3
	}
	return c
}

// Validate reports the first nonsensical field, naming it and what is expected.
func (c Config) Validate() error {
	switch {
	case c.NumClasses < 2:
		return fmt.Errorf("ssl: NumClasses = %d, want >= 2", c.NumClasses)
	case c.LatentDim <= 0:
		return fmt.Errorf("ssl: LatentDim = %d, want > 0", c.LatentDim)
	case c.BatchSize < 2:
		return fmt.Errorf("ssl: BatchSize = %d, want >= 2", c.BatchSize)
	case c.LearningRate <= 0:
		return fmt.Errorf("ssl: LearningRate = %g, want > 0", c.LearningRate)
	case c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1:
		return fmt.Errorf("ssl: Adam betas %g, %g, want in [0, 1)", c.Beta1, c.Beta2)
	case c.Epsilon < 0:
		return fmt.Errorf("ssl: Epsilon = %g, want > 0", c.Epsilon)
	case c.UnlabeledWeight < 0:
		return fmt.Errorf("ssl: UnlabeledWeight = %g, want >= 0", c.UnlabeledWeight)
	case c.FeatureDistance != MeanSquared && c.FeatureDistance != MeanAbsolute:
		return fmt.Errorf("ssl: unknown FeatureDistance %d", c.FeatureDistance)
	case c.AverageRate >= 1:
		return fmt.Errorf("ssl: AverageRate = %g, want < 1 (negative disables the average)", c.AverageRate)
	case c.ReferenceAverageRate < 0 || c.ReferenceAverageRate >= 1:
		return fmt.Errorf("ssl: ReferenceAverageRate = %g, want a rate in (0, 1), or 0 for no reference average",
			c.ReferenceAverageRate)
	case c.FixedNoise < 0:
		return fmt.Errorf("ssl: FixedNoise = %d, want >= 0", c.FixedNoise)
	case c.Devices < 0:
		return fmt.Errorf("ssl: Devices = %d, want 0 (one device) or the number of devices to train on", c.Devices)
	case c.Devices > 0 && c.BatchSize%c.Devices != 0:
		return fmt.Errorf("ssl: BatchSize = %d does not split over Devices = %d, want a multiple of %d", c.BatchSize,
			c.Devices, c.Devices)
	}
	return nil
}

// LogSumExp is LSE(l) = log Σ_k exp(l_k) over the last axis of logits [batch, K], computed stably
// as m + log Σ_k exp(l_k − m) with m = max_k l_k (openai/improved-gan's nn.log_sum_exp). Its
// gradient is softmax(l).
func LogSumExp(logits *Node) *Node {
	peak := StopGradient(ReduceAndKeep(logits, ReduceMax, -1))                // [B, 1]
	return Add(Reshape(peak, -1), Log(ReduceSum(Exp(Sub(logits, peak)), -1))) // [B]
}

// RealProbability is the classifier's probability that x is real, D(x) = Z/(Z + 1) = σ(LSE(l)),
// per example ([batch]).
func RealProbability(logits *Node) *Node { return Sigmoid(LogSumExp(logits)) }

// SupervisedLoss is L_lab = −mean l_y(x) + mean LSE(l(x)), the softmax cross-entropy of the
// labelled batch (Salimans et al. 2016, §5, the first term of L_supervised). logits are [batch, K];
// labels are [batch] integers in [0, K).
func SupervisedLoss(logits, labels *Node) *Node {
	k := logits.Shape().Dimensions[1]
	picked := ReduceSum(Mul(logits, OneHot(labels, k, logits.DType())), -1) // l_y, [B]
	return Add(Neg(ReduceAllMean(picked)), ReduceAllMean(LogSumExp(logits)))
}

// UnsupervisedLoss is the reference code's L_unl on the logits of an unlabelled batch and of a
// generated batch (Salimans et al. 2016, §5, L_unsupervised with the fake logit fixed at 0):
//
//	L_unl = −½ mean LSE(l_unl) + ½ mean softplus(LSE(l_unl)) + ½ mean softplus(LSE(l_fake))
//	      = −½ E_x log D(x) − ½ E_z log(1 − D(G(z)))
//
// since softplus(s) − s = −log σ(s) and softplus(s) = −log(1 − σ(s)).
func UnsupervisedLoss(unlabelledLogits, fakeLogits *Node) *Node {
	lseUnl, lseFake := LogSumExp(unlabelledLogits), LogSumExp(fakeLogits)
	return Add(Add(
		MulScalar(ReduceAllMean(lseUnl), -0.5),
		MulScalar(ReduceAllMean(nn.Softplus(lseUnl)), 0.5)),
		MulScalar(ReduceAllMean(nn.Softplus(lseFake)), 0.5))
}

// FeatureMatchingLoss is the generator's objective (Salimans et al. 2016, §3.1): the distance
// between the batch means of the classifier's features on a real batch and on a generated batch,
// mean_f (Δ_f)² (MeanSquared) or mean_f |Δ_f| (MeanAbsolute). No gradient flows into the real
// features.
func FeatureMatchingLoss(distance FeatureDistance, realFeatures, fakeFeatures *Node) *Node {
	realMean := ReduceMean(Reshape(realFeatures, realFeatures.Shape().Dimensions[0], -1), 0)
	fakeMean := ReduceMean(Reshape(fakeFeatures, fakeFeatures.Shape().Dimensions[0], -1), 0)
	delta := Sub(fakeMean, StopGradient(realMean))
	if distance == MeanAbsolute {
		return ReduceAllMean(Abs(delta))
	}
	return ReduceAllMean(Square(delta))
}

// Errors returns the number of examples whose arg-max logit is not their label (a scalar int32).
func Errors(logits, labels *Node) *Node {
	predicted := ArgMax(logits, -1, labels.DType())
	return ReduceAllSum(ConvertDType(NotEqual(predicted, labels), labels.DType()))
}
