package metrics

import (
	"fmt"
	"math"
	"strings"
)

// DefaultMinFraction is the share of the samples a class needs to count as covered by Coverage:
// 1%, a tenth of its fair share among 10 classes. Why 1%: a class the generator has dropped
// still receives the evaluator's mistakes, but a 99%-accurate evaluator spreads its ~1% of errors
// over nine other classes (about 0.1% each), ten times below the threshold; a class the generator
// draws at 1% or more of the time is a mode it really produces (100 of 10,000 samples). A
// confidence threshold on the probabilities was not chosen because a collapsed generator is often
// confidently classified (its one mode looks like a clean digit), so confidence says more about
// sample quality than about coverage.
const DefaultMinFraction = 0.01

// CoverageReport is the result of Coverage: how a set of generated samples spreads over classes.
type CoverageReport struct {
	// Samples is the number of labels counted (those in 0..numClasses−1).
	Samples int `json:"samples"`
	// ClassesCovered is the number of classes holding at least MinFraction of the samples.
	ClassesCovered int `json:"classes_covered"`
	// Histogram is the number of samples of each class 0..numClasses−1.
	Histogram []int `json:"histogram"`
	// KLFromUniform is KL(p ‖ u) = Σ_c p_c·ln(p_c·K) in nats, with p_c = Histogram[c]/Samples and u
	// the uniform distribution over the K = numClasses classes: 0 when every class is equally
	// frequent, ln K (2.303 for 10 classes) when all samples fall in one class.
	KLFromUniform float64 `json:"kl_from_uniform"`
	// MinFraction is the threshold ClassesCovered was counted with.
	MinFraction float64 `json:"min_fraction"`
	// OutOfRange counts labels outside 0..numClasses−1, which are left out of everything else.
	OutOfRange int
}

// String formats the report on one line, e.g.
// "10/10 classes covered (>= 1.0% each), KL from uniform 0.0031 nats; histogram [1003 985 ...]".
func (r CoverageReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d classes covered (>= %.1f%% each), KL from uniform %.4f nats; histogram %v",
		r.ClassesCovered, len(r.Histogram), 100*r.MinFraction, r.KLFromUniform, r.Histogram)
	if r.OutOfRange > 0 {
		fmt.Fprintf(&b, "; %d labels out of range", r.OutOfRange)
	}
	return b.String()
}

// Coverage is the mode-collapse meter: given the classes the evaluator assigns to generated
// samples (the labels of (*Evaluator).Classify), it counts the samples per class, the classes
// that hold at least minFraction of them (use DefaultMinFraction, 1%, unless there is a reason
// not to) and the KL divergence of the class histogram from the uniform distribution. A
// generator trained on MNIST that covers all modes shows 10 classes and a KL near 0 (10,000 real
// training digits, classified by the committed evaluator: 0.0022, because MNIST's classes are not
// exactly balanced); a collapsed one shows few classes and a KL approaching ln 10 ≈ 2.303 (digits
// of classes 0-4 only: 5 classes, KL 0.69 ≈ ln 2). Use about 10,000 samples: with 1,000 real
// digits the KL is 0.0045, sampling noise included.
func Coverage(labels []int, numClasses int, minFraction float64) CoverageReport {
	report := CoverageReport{Histogram: make([]int, max(numClasses, 0)), MinFraction: minFraction}
	for _, label := range labels {
		if label < 0 || label >= numClasses {
			report.OutOfRange++
			continue
		}
		report.Histogram[label]++
		report.Samples++
	}
	if report.Samples == 0 {
		return report
	}
	n := float64(report.Samples)
	for _, count := range report.Histogram {
		if count == 0 {
			continue
		}
		p := float64(count) / n
		if p >= minFraction {
			report.ClassesCovered++
		}
		report.KLFromUniform += p * math.Log(p*float64(numClasses))
	}
	return report
}
