package active

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// GAALConfig configures GAAL's query synthesis. Zero fields take the defaults.
type GAALConfig struct {
	// Steps is the number of gradient steps on each z (default 100, as the TensorFlow GAAL
	// reproduction; PyTorch-GAAL runs L-BFGS to convergence instead).
	Steps int
	// LearningRate is the initial Adam step size on z, decaying linearly to 0 (default 0.1).
	LearningRate float64
}

func (c GAALConfig) withDefaults() GAALConfig {
	if c.Steps == 0 {
		c.Steps = 100
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.1
	}
	return c
}

// GAAL is generative adversarial active learning (Zhu & Bento 2017, Algorithm 1): each round it
// synthesises Budget images on the decision boundary of the linear learner and asks the oracle to
// label them. For each query, z starts from N(0, I) and GAN.NearBoundary minimises
// (wᵀG(z) + b)²/‖w‖² by gradient steps through the generator, which was trained once on the
// unlabelled pool. The learner must be linear (the SVM).
type GAAL struct {
	// GAN is the shared generator.
	GAN *GAN
	// Config sets the optimisation of z.
	Config GAALConfig
}

// Name returns "gaal".
func (*GAAL) Name() string { return "gaal" }

// Select synthesises Budget images near the hyperplane. Its metrics are the mean distance of the
// images to the hyperplane (in pixel units of [-1, 1] images) before and after the optimisation.
func (s *GAAL) Select(ctx context.Context, r *Round) (Query, error) {
	linear, ok := r.Learner.(LinearLearner)
	if !ok {
		return Query{}, fmt.Errorf("active: gaal needs a linear learner (svm), the run's learner is %s", r.Learner.Name())
	}
	if err := s.GAN.Ready(ctx, r); err != nil {
		return Query{}, err
	}
	cfg := s.Config.withDefaults()
	w, b := linear.Hyperplane()
	synthesis, err := s.GAN.NearBoundary(ctx, w, b, normalDraws(r.RNG, r.Budget*s.GAN.LatentDim()), cfg.Steps, cfg.LearningRate)
	if err != nil {
		return Query{}, err
	}
	return Query{Synthetic: splitImages(synthesis.Images, r.Budget), Metrics: map[string]float64{
		"distance_before": meanSqrt(synthesis.Before), "distance_after": meanSqrt(synthesis.After)}}, nil
}

// Mixed is GAAL's mixed scheme (Zhu & Bento 2017, fig. 6): one round of random pool sampling after
// every Every rounds of GAAL (rounds Every+1, 2·(Every+1), ... are random).
type Mixed struct {
	// GAAL synthesises the other rounds' queries.
	GAAL *GAAL
	// Every is the number of GAAL rounds between two random ones (default 5, the paper's).
	Every int
}

// Name returns "gaal-mixed".
func (*Mixed) Name() string { return "gaal-mixed" }

// Select runs a random round when r.Number is a multiple of Every+1, a GAAL round otherwise.
func (s *Mixed) Select(ctx context.Context, r *Round) (Query, error) {
	every := s.Every
	if every == 0 {
		every = 5
	}
	if r.Number%(every+1) == 0 {
		return Random{}.Select(ctx, r)
	}
	return s.GAAL.Select(ctx, r)
}

// GANRandom labels Budget images G(z) of random z ~ N(0, I): the "simple GAN" baseline of Zhu &
// Bento (2017), which trains the learner on generated images without choosing them.
type GANRandom struct {
	// GAN is the shared generator.
	GAN *GAN
}

// Name returns "gan-random".
func (*GANRandom) Name() string { return "gan-random" }

// Select generates Budget images from fresh noise.
func (s *GANRandom) Select(ctx context.Context, r *Round) (Query, error) {
	if err := s.GAN.Ready(ctx, r); err != nil {
		return Query{}, err
	}
	images, err := s.GAN.Generate(normalDraws(r.RNG, r.Budget*s.GAN.LatentDim()), r.Budget)
	if err != nil {
		return Query{}, err
	}
	return Query{Synthetic: splitImages(images, r.Budget)}, nil
}

// normalDraws returns n draws from N(0, 1).
func normalDraws(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// splitImages cuts n images ([n, H, W, C] flat) into Examples.
func splitImages(images []float32, n int) []Example {
	size := len(images) / n
	out := make([]Example, n)
	for i := range out {
		out[i] = Example{Image: images[i*size : (i+1)*size : (i+1)*size]}
	}
	return out
}

// meanSqrt is the mean of the square roots of xs (distances from squared distances).
func meanSqrt(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += math.Sqrt(max(x, 0))
	}
	return sum / float64(len(xs))
}
