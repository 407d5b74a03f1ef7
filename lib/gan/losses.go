package gan

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best with the ops unqualified.

	"github.com/advlab/advlab/lib/nn"
)

// BCEWithLogits is the mean binary cross-entropy between targets y and sigmoid(logits), computed
// from the logits (PyTorch's BCEWithLogitsLoss, reduction "mean"):
//
//	ℓ(l, y) = −y·log σ(l) − (1−y)·log(1−σ(l)) = nn.Softplus(l) − y·l
//
// target is a constant label applied to every element (1 for "real", 0 for "fake", 0.9 for a
// smoothed real label).
func BCEWithLogits(logits *Node, target float64) *Node {
	y := ConstAsDType(logits.Graph(), logits.DType(), target)
	return ReduceAllMean(Sub(nn.Softplus(logits), Mul(y, logits)))
}

// Loss selects the adversarial objective.
type Loss int

const (
	// NonSaturating is the generator objective used in practice (Goodfellow et al. 2014, §3;
	// pytorch/examples dcgan): G maximises log D(G(z)), i.e. minimises BCE(D(G(z)), 1).
	NonSaturating Loss = iota
	// Minimax is the original zero-sum objective: G minimises log(1 − D(G(z))) = −nn.Softplus(l).
	// Its gradient vanishes when D confidently rejects the samples, which is why it is rarely used.
	Minimax
)

// String names the loss.
func (l Loss) String() string {
	switch l {
	case NonSaturating:
		return "non-saturating"
	case Minimax:
		return "minimax"
	}
	return "unknown"
}

// DiscriminatorLoss is the discriminator's objective on logits of a real and a fake batch:
//
//	L_D = −E_x[log D(x)] − E_z[log(1 − D(G(z)))]     (both terms as batch means, as PyTorch sums errD_real + errD_fake)
//
// realTarget is 1, or less than 1 for one-sided label smoothing (Salimans et al. 2016, §3.4); the
// fake target is never smoothed.
func DiscriminatorLoss(realLogits, fakeLogits *Node, realTarget float64) *Node {
	return Add(BCEWithLogits(realLogits, realTarget), BCEWithLogits(fakeLogits, 0))
}

// GeneratorLoss is the generator's adversarial objective on the logits D gives its samples.
func GeneratorLoss(kind Loss, fakeLogits *Node) *Node {
	if kind == Minimax {
		// log(1 − σ(l)) = −nn.Softplus(l); G minimises it.
		return Neg(ReduceAllMean(nn.Softplus(fakeLogits)))
	}
	return BCEWithLogits(fakeLogits, 1)
}

// FeatureMatching is the feature-matching generator objective (Salimans et al. 2016, §3.1):
//
//	‖ E_x f(x) − E_z f(G(z)) ‖²₂   (mean over feature dimensions, as in the reference MNIST code)
//
// where f is an intermediate layer of the discriminator and the expectations are batch means.
func FeatureMatching(realFeatures, fakeFeatures *Node) *Node {
	realMean := ReduceMean(Reshape(realFeatures, realFeatures.Shape().Dimensions[0], -1), 0)
	fakeMean := ReduceMean(Reshape(fakeFeatures, fakeFeatures.Shape().Dimensions[0], -1), 0)
	return ReduceAllMean(Square(Sub(StopGradient(realMean), fakeMean)))
}
