package active

import (
	"errors"
	"fmt"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/metrics"
)

// ErrNoSynthesisOracle is wrapped by the error an Oracle returns when asked to label synthesised
// images without an evaluator that can read them.
var ErrNoSynthesisOracle = errors.New("no oracle for synthesised images")

// Oracle answers label queries. Pool images get their ground-truth label; synthesised images, which
// have none, are labelled by the evaluator CNN of lib/metrics (99.2% on MNIST's test digits),
// standing in for the human annotator of the GAAL paper as its reproductions do, with its
// confidence reported next to each label.
type Oracle struct {
	truth     *data.Set
	evaluator *metrics.Evaluator
	classes   []int
}

// NewOracle returns the oracle of a task whose pool images are truth (labels 0..K-1). classes[k]
// is the evaluator's class of task label k (MNIST 5 vs 7: []int{5, 7}); evaluator may be nil, and
// then synthesised images cannot be labelled.
func NewOracle(truth *data.Set, evaluator *metrics.Evaluator, classes []int) *Oracle {
	return &Oracle{truth: truth, evaluator: evaluator, classes: classes}
}

// CanLabelSynthetic reports whether the oracle has an evaluator for synthesised images.
func (o *Oracle) CanLabelSynthetic() bool { return o.evaluator != nil }

// LabelPool returns the ground-truth labels of the pool images at indices.
func (o *Oracle) LabelPool(indices []int) ([]int, error) {
	labels := make([]int, len(indices))
	for k, i := range indices {
		if i < 0 || i >= o.truth.N {
			return nil, fmt.Errorf("active: oracle asked for pool index %d, the pool has %d images", i, o.truth.N)
		}
		labels[k] = int(o.truth.Labels[i])
	}
	return labels, nil
}

// LabelSynthetic labels n synthesised images ([n, H, W, C] flat, in [-1, 1]) with the evaluator:
// each gets the task label whose evaluator class has the highest probability (the evaluator
// tells ten classes apart; the task's classes are what the annotator is asked to choose from),
// and that class's softmax probability as its confidence. A low confidence (say below 0.5) means
// the evaluator thinks the image is none of the task's classes: a query the human annotator of the
// paper might have refused.
func (o *Oracle) LabelSynthetic(images []float32, n int) (labels []int, confidence []float64, err error) {
	if o.evaluator == nil {
		return nil, nil, fmt.Errorf("active: %w: the evaluator CNN exists for mnist and fashion (28x28x1), "+
			"not for %s; use a pool-based strategy", ErrNoSynthesisOracle, o.truth.Name)
	}
	if n == 0 {
		return nil, nil, nil
	}
	_, probs, err := o.evaluator.Classify(images, n)
	if err != nil {
		return nil, nil, fmt.Errorf("active: oracle: %w", err)
	}
	labels = make([]int, n)
	confidence = make([]float64, n)
	for i := range n {
		row := probs[i*metrics.NumClasses : (i+1)*metrics.NumClasses]
		best := 0
		for k, c := range o.classes {
			if row[c] > row[o.classes[best]] {
				best = k
			}
		}
		labels[i], confidence[i] = best, float64(row[o.classes[best]])
	}
	return labels, confidence, nil
}
