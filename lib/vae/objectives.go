package vae

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best with the ops unqualified.
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/advlab/advlab/lib/nn"
)

// Likelihood selects the decoder's distribution p(x|z), that is the reconstruction term of the
// ELBO.
type Likelihood int

const (
	// Bernoulli reads the decoder's output as logits l of independent Bernoulli pixels (Kingma &
	// Welling 2014, appendix C.1; pytorch/examples/vae). The reconstruction term is the binary
	// cross-entropy summed over pixels, computed stably from the logits:
	//
	//	−log p(x|z) = Σ_pixels −x·log σ(l) − (1−x)·log(1−σ(l)) = Σ_pixels softplus(l) − x·l
	//
	// It is a log-likelihood for binary x; with grey-level targets x ∈ [0, 1] (pytorch/examples)
	// it is the same cross-entropy, a loss rather than a normalised density. The mean image is σ(l).
	Bernoulli Likelihood = iota

	// Gaussian reads the decoder's output as the means μ_x of independent Gaussian pixels with one
	// fixed variance σ² (Config.ObservationVariance) and uses the full negative log-likelihood:
	//
	//	−log p(x|z) = Σ_pixels (x − μ_x)² / (2σ²) + ½·log(2πσ²)
	Gaussian

	// MSE is the sum of squared errors Σ_pixels (x − μ_x)² (1Konny/Beta-VAE's Gaussian decoder,
	// F.mse_loss(reduction="sum")). It is the Gaussian likelihood with σ² = ½ without its
	// constant, so its ELBO is not in nats of a normalised density.
	MSE
)

// String names the likelihood as the command line spells it.
func (l Likelihood) String() string {
	switch l {
	case Bernoulli:
		return "bernoulli"
	case Gaussian:
		return "gaussian"
	case MSE:
		return "mse"
	}
	return fmt.Sprintf("Likelihood(%d)", int(l))
}

// ParseLikelihood returns the Likelihood called name ("bernoulli", "gaussian" or "mse").
func ParseLikelihood(name string) (Likelihood, error) {
	for _, l := range []Likelihood{Bernoulli, Gaussian, MSE} {
		if l.String() == name {
			return l, nil
		}
	}
	return 0, fmt.Errorf("vae: unknown likelihood %q (want bernoulli, gaussian or mse)", name)
}

// perImageSum sums x [B, ...] over every axis but the first, giving [B].
func perImageSum(x *Node) *Node {
	axes := make([]int, 0, x.Rank()-1)
	for a := 1; a < x.Rank(); a++ {
		axes = append(axes, a)
	}
	if len(axes) == 0 {
		return x
	}
	return ReduceSum(x, axes...)
}

// ReconstructionNLL is −log p(x|z) of each image, summed over its pixels: decoderOutput and x are
// [B, H, W, C] (or any [B, ...] of equal shapes) and the result is [B]. variance is σ² of the
// Gaussian likelihood (ignored otherwise). See Likelihood for the formulas.
func ReconstructionNLL(kind Likelihood, decoderOutput, x *Node, variance float64) *Node {
	if !decoderOutput.Shape().Equal(x.Shape()) {
		exceptions.Panicf("vae.ReconstructionNLL: decoder output %s and images %s differ in shape",
			decoderOutput.Shape(), x.Shape())
	}
	switch kind {
	case Bernoulli:
		return perImageSum(Sub(nn.Softplus(decoderOutput), Mul(x, decoderOutput)))
	case Gaussian:
		if variance <= 0 {
			exceptions.Panicf("vae.ReconstructionNLL: Gaussian variance %g, want > 0", variance)
		}
		squared := perImageSum(Square(Sub(x, decoderOutput)))
		pixels := x.Shape().Size() / x.Shape().Dimensions[0]
		constant := 0.5 * float64(pixels) * math.Log(2*math.Pi*variance)
		return AddScalar(DivScalar(squared, 2*variance), constant)
	case MSE:
		return perImageSum(Square(Sub(x, decoderOutput)))
	}
	exceptions.Panicf("vae.ReconstructionNLL: unknown likelihood %d", kind)
	return nil
}

// MeanImage is the mean of p(x|z) for a decoder's output: σ(l) for Bernoulli logits, the output
// itself for the Gaussian likelihoods.
func MeanImage(kind Likelihood, decoderOutput *Node) *Node {
	if kind == Bernoulli {
		return Sigmoid(decoderOutput)
	}
	return decoderOutput
}

// KLPerDimension is the Kullback-Leibler divergence of each latent dimension of the diagonal
// Gaussian posterior q(z|x) = N(μ, σ²) from the prior N(0, 1), in closed form (Kingma & Welling
// 2014, appendix B), with logvar = log σ²:
//
//	KL_j = ½·(μ_j² + σ_j² − 1 − log σ_j²)
//
// mu and logvar are [B, D]; the result is [B, D]. Summed over j it is the KL term of the ELBO;
// averaged over the batch per j it shows which dimensions the model uses (β-VAE papers call
// dimensions with KL_j ≈ 0 "inactive" or collapsed).
func KLPerDimension(mu, logvar *Node) *Node {
	return MulScalar(Sub(Add(Square(mu), Exp(logvar)), AddScalar(logvar, 1)), 0.5)
}

// KLDivergence is KL(q(z|x) ‖ N(0, I)) of each example, the sum of KLPerDimension over the
// latent dimensions: [B, D] inputs give [B]. It equals pytorch/examples' KLD term
// −½·Σ(1 + logvar − μ² − exp(logvar)).
func KLDivergence(mu, logvar *Node) *Node {
	return ReduceSum(KLPerDimension(mu, logvar), -1)
}

// Reparameterize draws z ~ N(μ, σ²) as a differentiable function of μ and logvar (the
// reparameterisation trick, Kingma & Welling 2014, §2.4):
//
//	z = μ + σ ⊙ ε,   σ = exp(½·logvar),   ε ~ N(0, I)
//
// eps holds the standard normal draws, with the shape of mu (or [B, k, D] against [B, D] inputs,
// which gives k draws per example, [B, k, D]). The gradient flows to μ and logvar, not to ε.
func Reparameterize(mu, logvar, eps *Node) *Node {
	if eps.Rank() == mu.Rank()+1 {
		mu = InsertAxes(mu, 1)
		logvar = InsertAxes(logvar, 1)
	}
	return Add(mu, Mul(Exp(MulScalar(logvar, 0.5)), eps))
}

// Capacity is the KL target C of the capacity-annealed β-VAE (Burgess et al. 2018,
// "Understanding disentangling in β-VAE", §5) at training step step (counting from 1): C grows
// linearly from 0 to max over steps updates and then stays at max,
//
//	C(t) = min(C_max, C_max · t / N)
//
// as 1Konny/Beta-VAE's clamp(C_max/C_stop_iter · global_iter, 0, C_max). With steps ≤ 0 it is
// max from the start.
func Capacity(step int, max float64, steps int) float64 {
	if steps <= 0 || step >= steps {
		return max
	}
	if step <= 0 {
		return 0
	}
	return max * float64(step) / float64(steps)
}

// Objective is the per-example training loss of the (β-)VAE from its two terms, each [B]:
//
//	β-VAE (Higgins et al. 2017, eq. 4):       L = −log p(x|z) + β·KL(q(z|x) ‖ p(z))           (gamma == 0)
//	capacity β-VAE (Burgess et al. 2018, §5): L = −log p(x|z) + γ·|KL(q(z|x) ‖ p(z)) − C|      (gamma > 0)
//
// β = 1 is the negative ELBO of Kingma & Welling (2014). capacity is C (a scalar node, so that it
// can change every step without recompiling). The result is [B].
func Objective(reconstruction, kl *Node, beta, gamma float64, capacity *Node) *Node {
	if gamma > 0 {
		return Add(reconstruction, MulScalar(Abs(Sub(kl, capacity)), gamma))
	}
	return Add(reconstruction, MulScalar(kl, beta))
}

// standardNormalLogDensity is Σ_j log N(v_j; 0, 1) = Σ_j −½·v_j² − ½·log 2π over the last axis.
func standardNormalLogDensity(v *Node) *Node {
	d := v.Shape().Dimensions[v.Rank()-1]
	return AddScalar(MulScalar(ReduceSum(Square(v), -1), -0.5), -0.5*float64(d)*math.Log(2*math.Pi))
}

// ImportanceLogWeights are the log importance weights of k posterior draws per example (Burda et
// al. 2016, "Importance Weighted Autoencoders", eq. 8):
//
//	log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x),   z_i = μ + σ ⊙ ε_i
//	log p(z_i)   = Σ_j −½·z_ij² − ½·log 2π
//	log q(z_i|x) = Σ_j −½·ε_ij² − ½·log 2π − ½·logvar_j
//
// reconstructionNLL is −log p(x|z_i), [B, k]; z and eps are [B, k, D]; logvar is [B, D]. The
// result is [B, k]. The mean of log w over draws is a single-sample ELBO estimate (with the KL
// estimated by Monte Carlo instead of in closed form).
func ImportanceLogWeights(reconstructionNLL, z, eps, logvar *Node) *Node {
	logPrior := standardNormalLogDensity(z)                                                                  // [B, k]
	logPosterior := Sub(standardNormalLogDensity(eps), InsertAxes(MulScalar(ReduceSum(logvar, -1), 0.5), 1)) // [B, k]
	return Sub(Add(Neg(reconstructionNLL), logPrior), logPosterior)
}

// IWAEBound is the importance-weighted lower bound on log p(x) from k log weights per example
// (Burda et al. 2016, eq. 8), computed stably:
//
//	L_k = log (1/k) Σ_i w_i = max_i log w_i + log Σ_i exp(log w_i − max_i log w_i) − log k
//
// logWeights is [B, k]; the result is [B]. L_1 is the ELBO in expectation, L_k ≤ L_{k+1} ≤ log p(x)
// in expectation, and L_k → log p(x) as k → ∞: −L_k with k = 5000 is the "test NLL" of the VAE
// literature.
func IWAEBound(logWeights *Node) *Node {
	k := logWeights.Shape().Dimensions[logWeights.Rank()-1]
	peak := StopGradient(ReduceAndKeep(logWeights, ReduceMax, -1))
	sum := ReduceSum(Exp(Sub(logWeights, peak)), -1)
	return AddScalar(Add(Log(sum), Reshape(peak, sum.Shape().Dimensions...)), -math.Log(float64(k)))
}
