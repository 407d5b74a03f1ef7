package active

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/gomlx/compute"
)

// Strategy chooses what the oracle labels next. Every query strategy of this package implements
// it, pool-based (Query.Indices) and synthesising (Query.Synthetic) alike.
type Strategy interface {
	// Name identifies the strategy in results ("random", "gaal", ...).
	Name() string
	// Select returns at most r.Budget queries for round r. It must not change r.Pool.
	Select(ctx context.Context, r *Round) (Query, error)
}

// Round is what a strategy sees when it selects: the pool, the learner trained on the labelled
// examples so far, the budget and the round's own source of randomness.
type Round struct {
	// Number is the query round, from 1 (round 0 is the initial set).
	Number int
	// Pool holds the labelled and unlabelled images.
	Pool *Pool
	// Learner is trained on Pool.TrainingSet().
	Learner Learner
	// Budget is the number of labels this round may spend.
	Budget int
	// RNG is the round's random source, drawn from (seed, repeat, round, strategy name): the same
	// in an interrupted and a resumed run.
	RNG *rand.Rand
	// Seed seeds whatever the strategy trains this round (VAAL's networks, ...), from the same
	// quadruple.
	Seed uint64
	// Backend runs the strategy's graphs.
	Backend compute.Backend
	// Log, when not nil, receives progress lines of long selections (a strategy's training).
	Log io.Writer
}

// logf writes a progress line to r.Log, if any.
func (r *Round) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format, args...)
	}
}

// Query is a strategy's answer: pool images to label, images synthesised for the oracle, or both;
// together at most the round's budget.
type Query struct {
	// Indices are pool indices of unlabelled images, without repeats.
	Indices []int
	// Synthetic are synthesised images; the runner asks the oracle for their labels (Label and
	// Confidence are filled in then).
	Synthetic []Example
	// Metrics are diagnostics of the selection (e.g. GAAL's mean distance to the hyperplane before
	// and after the optimisation of z), kept with the round's results.
	Metrics map[string]float64
}

// Random queries Budget unlabelled pool images drawn uniformly: passive learning, the baseline
// every strategy must beat.
type Random struct{}

// Name returns "random".
func (Random) Name() string { return "random" }

// Select draws min(Budget, unlabelled) images without replacement.
func (Random) Select(_ context.Context, r *Round) (Query, error) {
	unlabelled := r.Pool.Unlabelled()
	n := min(r.Budget, len(unlabelled))
	picked := make([]int, n)
	for k, j := range r.RNG.Perm(len(unlabelled))[:n] {
		picked[k] = unlabelled[j]
	}
	sort.Ints(picked)
	return Query{Indices: picked}, nil
}

// Uncertainty selects which uncertainty measure an Uncertain strategy ranks by (Settles 2009,
// "Active Learning Literature Survey", §3.1).
type Uncertainty int

const (
	// Entropy ranks by −Σ_k p_k·log p_k, highest first.
	Entropy Uncertainty = iota
	// Margin ranks by p₁ − p₂, the gap between the two most probable classes, smallest first.
	Margin
	// LeastConfidence ranks by 1 − max_k p_k, highest first.
	LeastConfidence
)

// String returns the strategy name of the measure: "entropy", "margin" or "least-confidence".
func (u Uncertainty) String() string {
	switch u {
	case Entropy:
		return "entropy"
	case Margin:
		return "margin"
	case LeastConfidence:
		return "least-confidence"
	}
	return fmt.Sprintf("Uncertainty(%d)", int(u))
}

// UncertaintyScores returns one score per row of probs ([n, k] flat), larger meaning more
// uncertain: the entropy, the negated margin −(p₁ − p₂), or the least confidence 1 − max p.
func UncertaintyScores(probs []float32, k int, measure Uncertainty) []float64 {
	n := len(probs) / k
	scores := make([]float64, n)
	for i := range n {
		row := probs[i*k : (i+1)*k]
		switch measure {
		case Entropy:
			h := 0.0
			for _, p := range row {
				if p > 0 {
					h -= float64(p) * math.Log(float64(p))
				}
			}
			scores[i] = h
		case Margin:
			first, second := math.Inf(-1), math.Inf(-1)
			for _, p := range row {
				v := float64(p)
				if v > first {
					first, second = v, first
				} else if v > second {
					second = v
				}
			}
			if k == 1 {
				second = 0
			}
			scores[i] = -(first - second)
		case LeastConfidence:
			scores[i] = 1 - float64(row[argmax(row)])
		}
	}
	return scores
}

// TopK returns the positions of the k largest scores, largest first; ties go to the smaller
// position, so the choice is deterministic.
func TopK(scores []float64, k int) []int {
	order := seq(len(scores))
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	return order[:min(k, len(order))]
}

// Uncertain is uncertainty sampling: it queries the Budget unlabelled pool images the learner is
// least sure of, by the chosen measure.
type Uncertain struct {
	// Measure is the uncertainty measure.
	Measure Uncertainty
	// Candidates, when > 0, scores only this many unlabelled images drawn at random each round
	// (a common speed-up on large pools); 0 scores them all.
	Candidates int
}

// Name returns the measure's name.
func (u Uncertain) Name() string { return u.Measure.String() }

// Select scores the unlabelled images with the learner and takes the Budget most uncertain.
func (u Uncertain) Select(_ context.Context, r *Round) (Query, error) {
	candidates := candidatePool(r, u.Candidates)
	probs, err := PredictAll(r.Learner, r.Pool.Set(), candidates)
	if err != nil {
		return Query{}, err
	}
	scores := UncertaintyScores(probs, r.Learner.NumClasses(), u.Measure)
	return Query{Indices: pick(candidates, TopK(scores, r.Budget))}, nil
}

// SVMActive is Tong & Koller's (2001) "simple margin" for a linear SVM: it queries the unlabelled
// pool images closest to the hyperplane, smallest |wᵀx + b| (the distance up to the factor
// 1/‖w‖, the same for every image).
type SVMActive struct {
	// Candidates is as Uncertain.Candidates.
	Candidates int
}

// Name returns "svm-active".
func (SVMActive) Name() string { return "svm-active" }

// Select ranks the unlabelled images by |f(x)|, smallest first.
func (s SVMActive) Select(_ context.Context, r *Round) (Query, error) {
	linear, ok := r.Learner.(LinearLearner)
	if !ok {
		return Query{}, fmt.Errorf("active: svm-active needs a linear learner (svm), the run's learner is %s", r.Learner.Name())
	}
	candidates := candidatePool(r, s.Candidates)
	f, err := linear.Decision(r.Pool.Images(candidates), len(candidates))
	if err != nil {
		return Query{}, err
	}
	scores := make([]float64, len(f))
	for i, v := range f {
		scores[i] = -math.Abs(v)
	}
	return Query{Indices: pick(candidates, TopK(scores, r.Budget))}, nil
}

// candidatePool returns the unlabelled pool indices, or limit of them drawn with r.RNG when
// 0 < limit < their number.
func candidatePool(r *Round, limit int) []int {
	unlabelled := r.Pool.Unlabelled()
	if limit <= 0 || limit >= len(unlabelled) {
		return unlabelled
	}
	picked := make([]int, limit)
	for k, j := range r.RNG.Perm(len(unlabelled))[:limit] {
		picked[k] = unlabelled[j]
	}
	sort.Ints(picked)
	return picked
}

// pick returns candidates[positions[i]] for each position.
func pick(candidates, positions []int) []int {
	out := make([]int, len(positions))
	for i, p := range positions {
		out[i] = candidates[p]
	}
	return out
}
