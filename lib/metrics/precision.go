package metrics

import "fmt"

// DefaultPRNeighbours is the k of the k-nearest-neighbour manifolds of PrecisionRecall (3, the
// paper's choice).
const DefaultPRNeighbours = 3

// PRResult is the improved precision and recall of a generated set against a real one.
type PRResult struct {
	// Precision is the fraction of generated vectors inside the real manifold: how many samples
	// look like some real image.
	Precision float64 `json:"precision"`
	// Recall is the fraction of real vectors inside the generated manifold: how much of the real
	// variety the generator reaches.
	Recall float64 `json:"recall"`
	// K is the neighbour count the manifolds were built with.
	K int `json:"k"`
}

// PrecisionRecall returns the improved precision and recall of Kynkäänniemi et al. 2019 ("Improved
// Precision and Recall Metric for Assessing Generative Models", §2). Each set of feature vectors
// (real [nReal, dim], fake [nFake, dim], flat) stands for a manifold: the union of the balls
// around each of its vectors whose radius is the Euclidean distance to that vector's k-th nearest
// neighbour in the same set (the vector itself not counted). A generated vector counts for
// precision when it lies in the real manifold (within the radius of at least one real vector), a
// real vector counts for recall when it lies in the generated manifold. Both sets need more than k
// vectors; the cost is (nReal + nFake)² · dim multiply-adds. Higher is better for both; a
// collapsed generator keeps its precision and loses its recall, a blurry one the reverse.
func PrecisionRecall(real []float32, nReal int, fake []float32, nFake, dim, k int) (PRResult, error) {
	if dim < 1 || len(real) != nReal*dim || len(fake) != nFake*dim {
		return PRResult{}, fmt.Errorf("metrics: PrecisionRecall needs [n, dim] feature sets, got dim=%d, %d real values for %d vectors and %d generated values for %d",
			dim, len(real), nReal, len(fake), nFake)
	}
	if k < 1 || nReal <= k || nFake <= k {
		return PRResult{}, fmt.Errorf("metrics: PrecisionRecall with k=%d needs more than k vectors on each side and k >= 1, got %d real and %d generated", k, nReal, nFake)
	}
	for _, set := range [][]float32{real, fake} {
		if !isFinite(set) {
			return PRResult{}, fmt.Errorf("metrics: PrecisionRecall: the features hold non-finite values")
		}
	}
	realNorms, fakeNorms := squaredNorms(real, nReal, dim), squaredNorms(fake, nFake, dim)
	realRadii := kthNeighbourRadii(real, nReal, realNorms, dim, k)
	fakeRadii := kthNeighbourRadii(fake, nFake, fakeNorms, dim, k)
	return PRResult{
		Precision: manifoldShare(fake, nFake, fakeNorms, real, nReal, realNorms, realRadii, dim),
		Recall:    manifoldShare(real, nReal, realNorms, fake, nFake, fakeNorms, fakeRadii, dim),
		K:         k,
	}, nil
}

// squaredDistance is ‖a − b‖² from the squared norms and the dot product, never below 0.
func squaredDistance(normA, normB float64, dot float32) float64 {
	return max(normA+normB-2*float64(dot), 0)
}

// kthNeighbourRadii returns, for each of the n rows of a, the squared distance to its k-th nearest
// other row.
func kthNeighbourRadii(a []float32, n int, norms []float64, dim, k int) []float64 {
	radii := make([]float64, n)
	dotRows(a, n, a, n, dim, func(i int, dots []float32) {
		nearest := make([]float64, 0, k) // the k smallest so far, ascending
		for j, d := range dots {
			if j == i {
				continue
			}
			sq := squaredDistance(norms[i], norms[j], d)
			if len(nearest) == k && sq >= nearest[k-1] {
				continue
			}
			if len(nearest) < k {
				nearest = append(nearest, sq)
			} else {
				nearest[k-1] = sq
			}
			for p := len(nearest) - 1; p > 0 && nearest[p] < nearest[p-1]; p-- {
				nearest[p], nearest[p-1] = nearest[p-1], nearest[p]
			}
		}
		radii[i] = nearest[k-1]
	})
	return radii
}

// manifoldShare returns the fraction of the rows of a that lie within the squared radius of at
// least one row of the manifold set m.
func manifoldShare(a []float32, na int, aNorms []float64, m []float32, nm int, mNorms, radii []float64, dim int) float64 {
	inside := make([]bool, na)
	dotRows(a, na, m, nm, dim, func(i int, dots []float32) {
		for j, d := range dots {
			// A relative tolerance keeps a point exactly on a ball's surface inside despite rounding.
			if squaredDistance(aNorms[i], mNorms[j], d) <= radii[j]*(1+1e-6)+1e-12 {
				inside[i] = true
				return
			}
		}
	})
	count := 0
	for _, in := range inside {
		if in {
			count++
		}
	}
	return float64(count) / float64(na)
}
