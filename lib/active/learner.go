package active

import (
	"context"
	"fmt"

	"github.com/advlab/advlab/lib/data"
)

// Learner is the classifier an active-learning run trains on its labelled examples and measures on
// the test set: the "task model".
type Learner interface {
	// Name identifies the learner ("svm", "cnn").
	Name() string
	// NumClasses is K, the number of labels 0..K-1 the learner tells apart.
	NumClasses() int
	// Fit trains the learner from scratch on train (pixels in [-1, 1], labels 0..K-1); seed makes
	// the training deterministic. Cancelling ctx stops it with ctx's error.
	Fit(ctx context.Context, train data.Floats, seed uint64) error
	// Predict returns the class probabilities of n images ([n, H, W, C] flat, in [-1, 1]) as
	// [n, K] flat, row after row.
	Predict(images []float32, n int) ([]float32, error)
}

// LinearLearner is a binary learner with a linear decision function f(x) = wᵀx + b on the pixels,
// what svm-active and GAAL need.
type LinearLearner interface {
	Learner
	// Hyperplane returns w (one weight per pixel) and b.
	Hyperplane() (w []float32, b float64)
	// Decision returns f(x) for each of the n images.
	Decision(images []float32, n int) ([]float64, error)
}

// predictChunk is the number of images a learner's Predict is asked for at a time by Accuracy
// and the strategies, bounding the memory of a pass over a large pool.
const predictChunk = 1000

// PredictAll returns the learner's [n, K] probabilities for the images of set at indices (all of
// set when indices is nil), predictChunk images at a time.
func PredictAll(l Learner, set *data.Set, indices []int) ([]float32, error) {
	if indices == nil {
		indices = seq(set.N)
	}
	size := set.ImageSize()
	probs := make([]float32, 0, len(indices)*l.NumClasses())
	batch := make([]float32, predictChunk*size)
	for start := 0; start < len(indices); start += predictChunk {
		count := min(predictChunk, len(indices)-start)
		view := data.Images{Set: set, Indices: indices[start : start+count], Range: PixelRange}
		view.Gather(seq(count), batch[:count*size])
		p, err := l.Predict(batch[:count*size], count)
		if err != nil {
			return nil, err
		}
		probs = append(probs, p...)
	}
	return probs, nil
}

// Accuracy returns the fraction of the images of test (labels 0..K-1) whose most probable class
// under the learner is their label.
func Accuracy(l Learner, test *data.Set) (float64, error) {
	if test == nil || test.N == 0 {
		return 0, fmt.Errorf("active: accuracy on an empty test set")
	}
	probs, err := PredictAll(l, test, nil)
	if err != nil {
		return 0, err
	}
	k := l.NumClasses()
	correct := 0
	for i, label := range test.Labels {
		if argmax(probs[i*k:(i+1)*k]) == int(label) {
			correct++
		}
	}
	return float64(correct) / float64(test.N), nil
}

// argmax returns the index of the largest value (the first on ties).
func argmax(row []float32) int {
	best := 0
	for k, v := range row {
		if v > row[best] {
			best = k
		}
	}
	return best
}
