package active

import (
	"context"
	"math"
)

// ALGANConfig configures AL-GAN's choice of noise. Zero fields take the defaults.
type ALGANConfig struct {
	// Lambda is λ, the weight of the regulariser R(z) (default 0.1).
	Lambda float64
	// Steps is the number of gradient steps on each z (default 50).
	Steps int
	// LearningRate is the initial Adam step size on z, decaying linearly to 0 (default 0.05).
	LearningRate float64
	// CandidatesPerQuery is how many optimised codes compete for each query (default 4): the
	// Budget·CandidatesPerQuery images G(z*) are ranked by the learner's entropy.
	CandidatesPerQuery int
}

func (c ALGANConfig) withDefaults() ALGANConfig {
	if c.Lambda == 0 {
		c.Lambda = 0.1
	}
	if c.Steps == 0 {
		c.Steps = 50
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.05
	}
	if c.CandidatesPerQuery == 0 {
		c.CandidatesPerQuery = 4
	}
	return c
}

// ALGAN is the "AL-GAN" of the article on active learning in GANs (主动学习在生成对抗网络中的应用; notebook 10_al_gan):
// the generator does not take its noise blindly but picks it with the discriminator's feedback.
// The article writes the objective as the GAN's value plus a regulariser,
//
//	L(G, D) = E_x[log D(x)] + E_z[log(1 − D(G(z)))] + λ·R(G, D)
//
// and leaves R undefined. advlab makes it concrete for query selection, where the choice of noise
// happens: with the GAN trained (the first two terms, by lib/gan), each candidate z starts from
// N(0, I) and gradient steps minimise
//
//	A(z) = (D(G(z)) − ½)²  +  λ·R(z),     R(z) = (‖z‖/√d − 1)²
//
// The first term seeks the images the discriminator is least certain about, |D(G(z)) − ½| small:
// samples at the edge of what the generator does convincingly, neither obvious fakes nor its
// safest modes. R keeps z in the typical set of the prior N(0, I) in d dimensions, the shell
// ‖z‖ ≈ √d where almost all of its mass lies: without it, the search can drift to codes the
// generator never saw in training, whose images are off the data manifold and which no
// annotator could label (R is zero on the shell; the negative log-density ½‖z‖² would instead
// pull z towards the origin, itself an atypical point in high dimension). Among the
// Budget·CandidatesPerQuery optimised images, the learner's most uncertain (highest entropy) go
// to the oracle, so the query depends on what the learner does not know yet.
type ALGAN struct {
	// GAN is the shared generator and discriminator.
	GAN *GAN
	// Config sets λ and the optimisation.
	Config ALGANConfig
}

// Name returns "al-gan".
func (*ALGAN) Name() string { return "al-gan" }

// Select optimises the candidates' noise and queries the learner's most uncertain images. Its
// metrics are the mean |D(G(z)) − ½| before and after the optimisation and the mean ‖z‖/√d after.
func (s *ALGAN) Select(ctx context.Context, r *Round) (Query, error) {
	if err := s.GAN.Ready(ctx, r); err != nil {
		return Query{}, err
	}
	cfg := s.Config.withDefaults()
	latent := s.GAN.LatentDim()
	n := r.Budget * cfg.CandidatesPerQuery
	synthesis, dBefore, dAfter, err := s.GAN.LeastCertain(ctx, normalDraws(r.RNG, n*latent), cfg.Lambda, cfg.Steps, cfg.LearningRate)
	if err != nil {
		return Query{}, err
	}
	probs, err := r.Learner.Predict(synthesis.Images, n)
	if err != nil {
		return Query{}, err
	}
	chosen := TopK(UncertaintyScores(probs, r.Learner.NumClasses(), Entropy), r.Budget)
	candidates := splitImages(synthesis.Images, n)
	query := Query{Metrics: map[string]float64{
		"d_doubt_before": meanAbsHalf(dBefore), "d_doubt_after": meanAbsHalf(dAfter),
		"z_norm_after": meanNorm(synthesis.Z, latent) / math.Sqrt(float64(latent)),
	}}
	for _, c := range chosen {
		query.Synthetic = append(query.Synthetic, candidates[c])
	}
	return query, nil
}

// meanAbsHalf is the mean of |d − ½|.
func meanAbsHalf(ds []float64) float64 {
	sum := 0.0
	for _, d := range ds {
		sum += math.Abs(d - 0.5)
	}
	return sum / float64(len(ds))
}

// meanNorm is the mean Euclidean norm of the rows of z ([n, latent] flat).
func meanNorm(z []float32, latent int) float64 {
	n := len(z) / latent
	sum := 0.0
	for i := range n {
		s := 0.0
		for _, v := range z[i*latent : (i+1)*latent] {
			s += float64(v) * float64(v)
		}
		sum += math.Sqrt(s)
	}
	return sum / float64(n)
}
