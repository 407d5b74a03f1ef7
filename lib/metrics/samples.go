package metrics

import (
	"fmt"

	"github.com/advlab/advlab/lib/data"
)

// SampleQuality summarises generated images against a dataset: FID on the evaluator's features
// and the class coverage of the samples (the mode-collapse meter).
type SampleQuality struct {
	// FID is the Fréchet distance between the features of the generated images and of the real
	// images (lower is better; see FID for reference values).
	FID float64
	// Coverage is the class histogram of the generated images as the evaluator classifies them.
	Coverage CoverageReport
	// Generated and Real are the numbers of images compared.
	Generated, Real int
}

// String formats the quality on one line.
func (q SampleQuality) String() string {
	return fmt.Sprintf("FID %.2f (%d generated vs %d real); %s", q.FID, q.Generated, q.Real, q.Coverage)
}

// EvaluateSamples measures n generated images (NHWC [n, height, width, channels], values in
// [-1, 1], as a tanh generator produces them) against the first nReal images of real with the
// evaluator e. Images of another size than the evaluator's 28x28 (the 64x64 DCGAN's) are resized
// bilinearly after quantisation to 8 bits, the form the real images have. Judge adds the
// Inception Score, KID, precision and recall and the real-data floor.
func EvaluateSamples(e *Evaluator, samples []float32, n, height, width, channels int, real *data.Set, nReal int) (SampleQuality, error) {
	if channels != real.Channels {
		return SampleQuality{}, fmt.Errorf("metrics: samples have %d channels, the real %s images %d", channels, real.Name, real.Channels)
	}
	if nReal > real.N {
		nReal = real.N
	}
	samples, err := evaluatorImages(samples, n, height, width, channels)
	if err != nil {
		return SampleQuality{}, err
	}
	first := make([]int, nReal)
	for i := range first {
		first[i] = i
	}
	realImages := real.Subset(first).Float32(data.RangeMinusOneOne)
	fid, err := FID(e, realImages, nReal, samples, n)
	if err != nil {
		return SampleQuality{}, err
	}
	labels, _, err := e.Classify(samples, n)
	if err != nil {
		return SampleQuality{}, err
	}
	classes := len(real.ClassNames)
	if classes == 0 {
		classes = 10
	}
	return SampleQuality{FID: fid, Coverage: Coverage(labels, classes, DefaultMinFraction), Generated: n, Real: nReal}, nil
}
