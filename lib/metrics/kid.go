package metrics

import (
	"fmt"
	"math"
)

// KIDResult is the Kernel Inception Distance of two feature sets and its standard error.
type KIDResult struct {
	// KID is the unbiased estimate of MMD² over all pairs of the m vectors a side (see KID).
	KID float64 `json:"kid"`
	// SE is its jackknife standard error (leaving out one real and one generated vector at a
	// time).
	SE float64 `json:"se"`
	// Vectors is m, the number of vectors used on each side.
	Vectors int `json:"vectors"`
}

// String formats the result as "0.01234 ± 0.00056".
func (r KIDResult) String() string { return fmt.Sprintf("%.5f ± %.5f", r.KID, r.SE) }

// KID returns the Kernel Inception Distance of Bińkowski et al. 2018 ("Demystifying MMD GANs",
// §4): the squared maximum mean discrepancy between the feature vectors of real and generated
// images with the cubic polynomial kernel
//
//	k(x, y) = (x·y / dim + 1)³,
//
// estimated without bias from m = min(nReal, nFake) vectors a side (the first m of each; real and
// fake are [n, dim] flat):
//
//	MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j) − 2/m² Σ_{i,j} k(x_i, y_j).
//
// All m² pairs are used (the reference implementations average over random subsets instead, which
// estimates the same quantity with more noise). The standard error is the jackknife's: the
// estimate recomputed m times, each time without x_i and y_i, from the row sums of the kernel
// matrices, SE² = (m−1)/m · Σ_i (θ_(i) − θ̄)². Unlike FID the estimate has no bias from the sample
// size; it can come out slightly negative when the distributions are equal. Lower is better. It
// needs m >= 3 and costs 4·m²·dim multiply-adds.
func KID(real []float32, nReal int, fake []float32, nFake, dim int) (KIDResult, error) {
	if dim < 1 || nReal < 0 || nFake < 0 || len(real) != nReal*dim || len(fake) != nFake*dim {
		return KIDResult{}, fmt.Errorf("metrics: KID needs [n, dim] feature sets, got dim=%d, %d real values for %d vectors and %d generated values for %d",
			dim, len(real), nReal, len(fake), nFake)
	}
	m := min(nReal, nFake)
	if m < 3 {
		return KIDResult{}, fmt.Errorf("metrics: KID needs at least 3 vectors a side, got %d real and %d generated", nReal, nFake)
	}
	x, y := real[:m*dim], fake[:m*dim]
	xx := kernelRowSums(x, x, m, dim, true) // Σ_{j≠i} k(x_i, x_j)
	yy := kernelRowSums(y, y, m, dim, true)
	xy := kernelRowSums(x, y, m, dim, false) // Σ_j k(x_i, y_j)
	yx := kernelRowSums(y, x, m, dim, false) // Σ_j k(y_i, x_j): the column sums of xy
	diagonal := make([]float64, m)           // k(x_i, y_i)
	for i := range m {
		diagonal[i] = cubicKernel(dot(x[i*dim:(i+1)*dim], y[i*dim:(i+1)*dim]), dim)
	}
	sumXX, sumYY, sumXY := sum(xx), sum(yy), sum(xy)
	mf := float64(m)
	estimate := func(sXX, sYY, sXY, m float64) float64 {
		return sXX/(m*(m-1)) + sYY/(m*(m-1)) - 2*sXY/(m*m)
	}
	result := KIDResult{KID: estimate(sumXX, sumYY, sumXY, mf), Vectors: m}
	leaveOneOut := make([]float64, m)
	mean := 0.0
	for i := range m {
		leaveOneOut[i] = estimate(sumXX-2*xx[i], sumYY-2*yy[i], sumXY-xy[i]-yx[i]+diagonal[i], mf-1)
		mean += leaveOneOut[i]
	}
	mean /= mf
	variance := 0.0
	for _, e := range leaveOneOut {
		variance += (e - mean) * (e - mean)
	}
	result.SE = math.Sqrt(variance * (mf - 1) / mf)
	if math.IsNaN(result.KID) || math.IsInf(result.KID, 0) || math.IsNaN(result.SE) {
		return KIDResult{}, fmt.Errorf("metrics: KID is %v: the features hold non-finite values", result.KID)
	}
	return result, nil
}

// cubicKernel is KID's kernel (d/dim + 1)³ of a dot product d.
func cubicKernel(d float32, dim int) float64 {
	k := float64(d)/float64(dim) + 1
	return k * k * k
}

// kernelRowSums returns Σ_j k(a_i, b_j) for each of the m rows of a, over the m rows of b, leaving
// out j = i when offDiagonal is set (a and b the same set).
func kernelRowSums(a, b []float32, m, dim int, offDiagonal bool) []float64 {
	rowSums := make([]float64, m)
	dotRows(a, m, b, m, dim, func(i int, dots []float32) {
		s := 0.0
		for j, d := range dots {
			if offDiagonal && i == j {
				continue
			}
			s += cubicKernel(d, dim)
		}
		rowSums[i] = s
	})
	return rowSums
}

// sum adds up xs.
func sum(xs []float64) float64 {
	total := 0.0
	for _, x := range xs {
		total += x
	}
	return total
}
