package active

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/data"
)

// LatentTrace is one VAAL or ARAL selection laid open, for a notebook to look at: the losses of
// every training iteration, the score the latent discriminator (VAAL's D, ARAL's sampler S) gives
// every labelled and every unlabelled image, the query and, for ARAL, images drawn from the
// conditional generator. The query and its metrics are exactly what Select returns for the same
// Round.
type LatentTrace struct {
	// Strategy is "vaal" or "aral".
	Strategy string `json:"strategy"`
	// LossNames name the rows of Losses (VAALLossNames, ARALLossNames).
	LossNames []string `json:"loss_names"`
	// Losses[k][i] is loss k at training iteration i.
	Losses [][]float64 `json:"losses"`
	// Labelled are the pool indices of the labelled pool images (Pool.Labelled), and
	// LabelledScores the score of each labelled training example (Pool.TrainingSet's order: those
	// pool images, then any synthesised examples).
	Labelled       []int     `json:"labelled"`
	LabelledScores []float64 `json:"labelled_scores"`
	// Unlabelled are the pool indices of the unlabelled images, ascending, and UnlabelledScores
	// the score of each: the query is the Budget lowest.
	Unlabelled       []int     `json:"unlabelled"`
	UnlabelledScores []float64 `json:"unlabelled_scores"`
	// Query is the selection (Select's answer).
	Query Query `json:"query"`
	// Generated (ARAL only) holds GeneratedPerClass images G(z, y) of each class y = 0..K-1, class
	// after class, [K·GeneratedPerClass, Height, Width, Channels] flat, pixels in [-1, 1].
	Generated         []float32 `json:"generated,omitempty"`
	GeneratedPerClass int       `json:"generated_per_class,omitempty"`
	// ClassifierAccuracy (ARAL only, when a test set was given) is the test accuracy of ARAL's
	// semi-supervised classifier C after the round's training.
	ClassifierAccuracy float64 `json:"classifier_accuracy,omitempty"`
	// Height, Width and Channels are the images' shape.
	Height   int `json:"height"`
	Width    int `json:"width"`
	Channels int `json:"channels"`
}

// setScores fills the trace's scores and the images' shape.
func (t *LatentTrace) setScores(pool *Pool, unlabelled []int, scores latentScores) {
	set := pool.Set()
	t.Height, t.Width, t.Channels = set.Height, set.Width, set.Channels
	t.Labelled = pool.Labelled()
	t.LabelledScores = scores.labelled
	t.Unlabelled = unlabelled
	t.UnlabelledScores = scores.unlabelled
}

// Trace runs Select on r and returns its query together with the losses of every training
// iteration and the discriminator's D(μ) for every labelled and unlabelled image.
func (s *VAAL) Trace(ctx context.Context, r *Round) (*LatentTrace, error) {
	return s.run(ctx, r)
}

// ARALTraceOptions asks ARAL.Trace for more than the scores.
type ARALTraceOptions struct {
	// PerClass is the number of images G(z, y) to draw for each class (0: none).
	PerClass int
	// Test, when not nil, is a test set (labels 0..K-1) on which to measure ARAL's classifier C.
	Test *data.Set
	// Seed draws the generator's z.
	Seed uint64
}

// Trace runs Select on r and returns its query together with the values of every training step
// (ARALLossNames), the sampler's S(μ) for every labelled and unlabelled image, and, as opts asks,
// images from the trained conditional generator and the test accuracy of the classifier C.
func (s *ARAL) Trace(ctx context.Context, r *Round, opts ARALTraceOptions) (*LatentTrace, error) {
	return s.run(ctx, r, func(t *aralTrainer, trace *LatentTrace) error {
		if opts.PerClass > 0 {
			images, err := t.generate(r, opts.PerClass, opts.Seed)
			if err != nil {
				return fmt.Errorf("drawing from the generator: %w", err)
			}
			trace.Generated, trace.GeneratedPerClass = images, opts.PerClass
		}
		if opts.Test != nil {
			accuracy, err := t.classifierAccuracy(r, opts.Test)
			if err != nil {
				return fmt.Errorf("measuring the classifier: %w", err)
			}
			trace.ClassifierAccuracy = accuracy
		}
		return nil
	})
}

// generate draws perClass images G(z, y) of every class with the trained generator in inference
// mode (batch norm with its running statistics), class after class.
func (t *aralTrainer) generate(r *Round, perClass int, seed uint64) ([]float32, error) {
	exec, err := model.NewExec(r.Backend, t.store, func(_ *model.Scope, z, y *graph.Node) *graph.Node {
		return t.generator(z, y)
	})
	if err != nil {
		return nil, err
	}
	n := perClass * t.numClasses
	rng := rand.New(rand.NewPCG(seed, 0x6e4))
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(i / perClass)
	}
	z := tensors.FromFlatDataAndDimensions(normalDraws(rng, n*t.cfg.LatentDim), n, t.cfg.LatentDim)
	out, err := exec.Call(z, tensors.FromValue(y))
	if err != nil {
		return nil, err
	}
	return tensors.MustCopyFlatData[float32](out[0]), nil
}

// classifierAccuracy is the accuracy of C (inference mode, no noise) on test.
func (t *aralTrainer) classifierAccuracy(r *Round, test *data.Set) (float64, error) {
	if test.N == 0 {
		return 0, fmt.Errorf("empty test set")
	}
	exec, err := model.NewExec(r.Backend, t.store, func(_ *model.Scope, x *graph.Node) *graph.Node {
		logits, _ := t.classifier(x)
		return graph.ConvertDType(graph.ArgMax(logits, -1, dtypes.Int32), dtypes.Float32)
	})
	if err != nil {
		return 0, err
	}
	size := test.ImageSize()
	values := make([]float32, test.N*size)
	data.Images{Set: test, Indices: seq(test.N), Range: PixelRange}.Gather(seq(test.N), values)
	predicted, err := scoreInBatches(values, test.N, size, func(batch []float32, b int) ([]float32, error) {
		out, err := exec.Call(imagesTensor(batch, b, t.height, t.width, t.channels))
		if err != nil {
			return nil, err
		}
		return tensors.MustCopyFlatData[float32](out[0]), nil
	})
	if err != nil {
		return 0, err
	}
	correct := 0
	for i, p := range predicted {
		if int(p) == int(test.Labels[i]) {
			correct++
		}
	}
	return float64(correct) / float64(test.N), nil
}

// FirstRound returns round 1 of the given repeat of the strategy called name exactly as Run would
// hand it to the strategy: a pool with the repeat's class-balanced initial set labelled by the
// oracle, the round's random source and seed, the budget and the backend. The learner is a fresh
// one from NewLearner, trained on the initial set only when fit is true (the uncertainty
// strategies need it; VAAL ignores it and ARAL asks it only for the number of classes). A notebook
// uses it to run one selection by hand.
func (r *Runner) FirstRound(ctx context.Context, name string, repeat int, fit bool) (*Round, error) {
	if r.Task == nil || r.NewLearner == nil || r.Oracle == nil {
		return nil, fmt.Errorf("active: Runner needs a Task, NewLearner and an Oracle")
	}
	pool := NewPool(r.Task.Train)
	if err := r.labelInitialSet(pool, repeat); err != nil {
		return nil, err
	}
	learner := r.NewLearner()
	if fit {
		if err := learner.Fit(ctx, pool.TrainingSet(), r.learnerSeed(repeat, 0)); err != nil {
			return nil, err
		}
	}
	roundRNG, seed := r.strategyRNG(name, repeat, 1)
	return &Round{Number: 1, Pool: pool, Learner: learner, Budget: r.Config.Budget, RNG: roundRNG, Seed: seed,
		Backend: r.Backend, Log: r.Progress}, nil
}

// Histogram counts values into bins equal bins over [lo, hi] (values outside are clamped into the
// first or last bin) and returns the bins' centres and the fraction of the values in each, for
// drawing two distributions of different sizes on one chart.
func Histogram(values []float64, lo, hi float64, bins int) (centres, fractions []float64) {
	if bins <= 0 || !(hi > lo) {
		return nil, nil
	}
	width := (hi - lo) / float64(bins)
	centres, fractions = make([]float64, bins), make([]float64, bins)
	for k := range centres {
		centres[k] = lo + (float64(k)+0.5)*width
	}
	n := 0
	for _, v := range values {
		if math.IsNaN(v) {
			continue
		}
		k := min(max(int(math.Floor((v-lo)/width)), 0), bins-1)
		fractions[k]++
		n++
	}
	if n > 0 {
		for k := range fractions {
			fractions[k] /= float64(n)
		}
	}
	return centres, fractions
}
