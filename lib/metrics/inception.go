package metrics

import (
	"fmt"
	"math"
)

// DefaultISSplits is the number of splits the Inception Score is averaged over (10, as in Salimans
// et al. 2016 and their code).
const DefaultISSplits = 10

// InceptionScore returns the Inception Score of Salimans et al. 2016 ("Improved Techniques for
// Training GANs", §4) from the class probabilities p(y|x) of n images (probs is [n, classes] flat,
// row after row, each row summing to 1, as (*Evaluator).Classify returns them):
//
//	IS = exp( E_x KL( p(y|x) ‖ p(y) ) ),  p(y) the mean of p(y|x) over the images,
//
// computed separately on `splits` consecutive equal parts of the images (the last n mod splits
// images are left out), and returned as the mean and the standard deviation (over the splits,
// dividing by splits, numpy's np.std) of the per-split scores, as the reference code does. The
// score is high when each image is confidently one class (low entropy of p(y|x)) and the classes
// are evenly used (high entropy of p(y)); it lies between 1 and the number of classes. With the
// evaluator in place of Inception-v3, the numbers are comparable only with other scores on the same
// evaluator and split size: compare a generator with real images scored the same way (see Judge).
func InceptionScore(probs []float32, n, classes, splits int) (mean, std float64, err error) {
	if classes < 1 || n < 1 || len(probs) != n*classes {
		return 0, 0, fmt.Errorf("metrics: InceptionScore needs n >= 1 rows of `classes` >= 1 probabilities, got n=%d, classes=%d and %d values",
			n, classes, len(probs))
	}
	if splits < 1 || splits > n {
		return 0, 0, fmt.Errorf("metrics: InceptionScore: %d splits of %d images; want 1 <= splits <= n", splits, n)
	}
	size := n / splits
	scores := make([]float64, splits)
	marginal := make([]float64, classes)
	for s := range splits {
		rows := probs[s*size*classes : (s+1)*size*classes]
		clear(marginal)
		for i, p := range rows {
			if math.IsNaN(float64(p)) || p < 0 {
				return 0, 0, fmt.Errorf("metrics: InceptionScore: probability %v of image %d, class %d", p, s*size+i/classes, i%classes)
			}
			marginal[i%classes] += float64(p)
		}
		for c := range marginal {
			marginal[c] /= float64(size)
		}
		kl := 0.0
		for i, p := range rows {
			if p > 0 { // 0·log 0 = 0
				kl += float64(p) * (math.Log(float64(p)) - math.Log(marginal[i%classes]))
			}
		}
		scores[s] = math.Exp(kl / float64(size))
	}
	for _, score := range scores {
		mean += score
	}
	mean /= float64(splits)
	for _, score := range scores {
		std += (score - mean) * (score - mean)
	}
	return mean, math.Sqrt(std / float64(splits)), nil
}
