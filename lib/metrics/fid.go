package metrics

import (
	"fmt"
	"math"
)

// GaussianStats are the mean and covariance of a set of feature vectors: the Gaussian that FID
// fits to the evaluator features of a set of images.
type GaussianStats struct {
	// Dim is the dimension of the feature vectors (FeatureSize for the evaluator's features).
	Dim int
	// N is the number of vectors the statistics were computed from.
	N int
	// Mean is μ, Dim values.
	Mean []float64
	// Cov is Σ, Dim×Dim values row after row: the unbiased sample covariance (divided by N−1,
	// numpy's np.cov, as in the reference FID implementations).
	Cov []float64
}

// FeatureStats returns the mean and unbiased covariance of n feature vectors of dimension dim
// (features is [n, dim] flat, row after row), accumulated in float64. It needs n >= 2.
func FeatureStats(features []float32, n, dim int) (GaussianStats, error) {
	if n < 2 || dim < 1 || len(features) != n*dim {
		return GaussianStats{}, fmt.Errorf("metrics: FeatureStats needs n >= 2 vectors of dimension dim >= 1 "+
			"(n·dim values), got n=%d, dim=%d and %d values", n, dim, len(features))
	}
	mean := make([]float64, dim)
	for i := range n {
		for j, v := range features[i*dim : (i+1)*dim] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	cov := make([]float64, dim*dim)
	centred := make([]float64, dim)
	for i := range n {
		for j, v := range features[i*dim : (i+1)*dim] {
			centred[j] = float64(v) - mean[j]
		}
		for a := range dim {
			ca := centred[a]
			if ca == 0 {
				continue
			}
			row := cov[a*dim : (a+1)*dim]
			for b := a; b < dim; b++ {
				row[b] += ca * centred[b]
			}
		}
	}
	for a := range dim {
		for b := a; b < dim; b++ {
			v := cov[a*dim+b] / float64(n-1)
			cov[a*dim+b], cov[b*dim+a] = v, v
		}
	}
	return GaussianStats{Dim: dim, N: n, Mean: mean, Cov: cov}, nil
}

// ImageStats returns the Gaussian statistics of the evaluator features of n images (flat NHWC
// [n, 28, 28, 1], values in [-1, 1]). Compute the statistics of the real images once and reuse
// them with FIDFromStats to follow FID during training.
func ImageStats(e *Evaluator, images []float32, n int) (GaussianStats, error) {
	features, err := e.Features(images, n)
	if err != nil {
		return GaussianStats{}, err
	}
	return FeatureStats(features, n, FeatureSize)
}

// FID returns the Fréchet Inception Distance of Heusel et al. 2017 ("GANs Trained by a Two
// Time-Scale Update Rule Converge to a Local Nash Equilibrium", §3 and appendix), with the
// evaluator CNN in place of Inception-v3: the Fréchet distance (see FrechetDistance) between the
// Gaussians fitted to the evaluator's penultimate features (FeatureSize = 128 values per image)
// of nReal real and nFake generated images (flat NHWC [n, 28, 28, 1], values in [-1, 1]).
// Lower is better; 0 means the two feature distributions have the same mean and covariance.
//
// FID is biased upwards for small samples: compare numbers computed with the same nReal and nFake
// (10,000 each is the usual choice; it needs at least FeatureSize images for a full-rank
// covariance).
//
// Reference values with the committed MNIST evaluator: 10,000 images against the 10,000 MNIST
// test images (measured here; the commands are in weights/README.md of this package):
//
//	real MNIST training images                              0.29   (the floor: a perfect generator)
//	training images blurred by a 3x3 box filter             6.1
//	training images + Gaussian noise σ = 0.3 (of range 2)  23.8
//	training digits of classes 0-4 only (half the modes)  31.5
//	training images blurred by a 5x5 box filter            35.3
//	only ones (6,742 real "1" digits: total mode collapse) 117
//	Gaussian noise N(0, 0.5²) clipped to [-1, 1]           178
//
// With 1,000 images on each side the floor rises to about 3.7 (real train against real test) and
// the others by about 3; compare only numbers computed with the same sample sizes.
//
// As a rule of thumb on these features: below 2 (10,000 samples) is excellent, hard to tell
// from real digits; 2-10 is good, sharp digits of every class with small artefacts; 10-30 is
// mediocre, blurry or noisy digits or some classes missing; above 50 the samples are mostly not
// recognisable digits or collapsed onto few classes. Read FID together with Coverage: the
// two failure modes (poor samples, missing modes) raise it alike. These numbers belong to this
// evaluator only; FID has no absolute scale and is not comparable with Inception FIDs in papers.
func FID(e *Evaluator, realImages []float32, nReal int, fakeImages []float32, nFake int) (float64, error) {
	realStats, err := ImageStats(e, realImages, nReal)
	if err != nil {
		return 0, fmt.Errorf("metrics: FID on the real images: %w", err)
	}
	fakeStats, err := ImageStats(e, fakeImages, nFake)
	if err != nil {
		return 0, fmt.Errorf("metrics: FID on the generated images: %w", err)
	}
	return FIDFromStats(realStats, fakeStats)
}

// FIDFromStats is the Fréchet distance between two GaussianStats (see FID and FrechetDistance).
func FIDFromStats(a, b GaussianStats) (float64, error) {
	return FrechetDistance(a.Mean, a.Cov, b.Mean, b.Cov)
}

// FrechetDistance returns the squared Fréchet (2-Wasserstein) distance between the Gaussians
// N(μ1, Σ1) and N(μ2, Σ2) of dimension d = len(mu1) (Dowson & Landau 1982; the formula of FID,
// Heusel et al. 2017):
//
//	d² = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2·(Σ1·Σ2)^{1/2})
//
// cov1 and cov2 are d×d, row after row, symmetric positive semi-definite. The computation runs in
// float64 on the host. Σ1·Σ2 is not symmetric, so its square root is not taken directly: with
// S = Σ1^{1/2} (from the eigendecomposition Σ1 = V·diag(λ)·Vᵀ, S = V·diag(√λ)·Vᵀ), the symmetric
// matrix S·Σ2·S is similar to Σ1·Σ2 (S·Σ2·S = S⁻¹·(Σ1·Σ2)·S when S is invertible, and by
// continuity otherwise), so both have the same non-negative eigenvalues μ_i and
//
//	Tr((Σ1·Σ2)^{1/2}) = Σ_i √μ_i,  μ_i the eigenvalues of S·Σ2·S.
//
// Eigenvalues that rounding makes slightly negative are treated as 0, and a result below 0 (only
// possible by rounding, for equal Gaussians) is returned as 0.
func FrechetDistance(mu1, cov1, mu2, cov2 []float64) (float64, error) {
	d := len(mu1)
	if d == 0 || len(mu2) != d || len(cov1) != d*d || len(cov2) != d*d {
		return 0, fmt.Errorf("metrics: FrechetDistance needs means of one dimension d >= 1 and d×d covariances, "+
			"got len(mu1)=%d, len(mu2)=%d, len(cov1)=%d, len(cov2)=%d", len(mu1), len(mu2), len(cov1), len(cov2))
	}
	for _, m := range [][]float64{mu1, mu2, cov1, cov2} {
		for _, v := range m {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("metrics: FrechetDistance got a non-finite value %v", v)
			}
		}
	}
	meanTerm := 0.0
	for i := range d {
		diff := mu1[i] - mu2[i]
		meanTerm += diff * diff
	}
	sqrt1, err := symmetricSqrt(cov1, d)
	if err != nil {
		return 0, fmt.Errorf("metrics: square root of Σ1: %w", err)
	}
	product := matMul(matMul(sqrt1, cov2, d), sqrt1, d) // S·Σ2·S
	eigenvalues, _, err := symmetricEigen(product, d)
	if err != nil {
		return 0, fmt.Errorf("metrics: eigenvalues of Σ1^½·Σ2·Σ1^½: %w", err)
	}
	traceSqrt := 0.0
	for _, lambda := range eigenvalues {
		traceSqrt += math.Sqrt(max(lambda, 0))
	}
	traces := 0.0
	for i := range d {
		traces += cov1[i*d+i] + cov2[i*d+i]
	}
	return max(meanTerm+traces-2*traceSqrt, 0), nil
}

// symmetricSqrt returns the principal square root V·diag(√max(λ, 0))·Vᵀ of the symmetric positive
// semi-definite d×d matrix a.
func symmetricSqrt(a []float64, d int) ([]float64, error) {
	eigenvalues, vectors, err := symmetricEigen(a, d)
	if err != nil {
		return nil, err
	}
	out := make([]float64, d*d)
	for k, lambda := range eigenvalues {
		s := math.Sqrt(max(lambda, 0))
		if s == 0 {
			continue
		}
		for i := range d {
			vik := vectors[i*d+k] * s
			if vik == 0 {
				continue
			}
			row := out[i*d : (i+1)*d]
			for j := range d {
				row[j] += vik * vectors[j*d+k]
			}
		}
	}
	return out, nil
}

// matMul returns the product of the d×d matrices a and b (row after row).
func matMul(a, b []float64, d int) []float64 {
	out := make([]float64, d*d)
	for i := range d {
		row := out[i*d : (i+1)*d]
		for k := range d {
			aik := a[i*d+k]
			if aik == 0 {
				continue
			}
			bk := b[k*d : (k+1)*d]
			for j := range d {
				row[j] += aik * bk[j]
			}
		}
	}
	return out
}

// symmetricEigen diagonalises the symmetric d×d matrix a (its symmetric part (a + aᵀ)/2 is used)
// with the cyclic Jacobi method (Golub & Van Loan, Matrix Computations, §8.5): plane rotations
// that zero one off-diagonal pair at a time, sweeping over all pairs until the off-diagonal mass
// is negligible. It returns the eigenvalues and the eigenvectors as the columns of a d×d matrix
// (row after row), with a = V·diag(λ)·Vᵀ. Jacobi is slower than Householder + QR but simple,
// accurate to a few ulps on small eigenvalues, and fast enough for d = 128 (milliseconds).
func symmetricEigen(a []float64, d int) (eigenvalues, vectors []float64, err error) {
	m := make([]float64, d*d)
	for i := range d {
		for j := range d {
			m[i*d+j] = (a[i*d+j] + a[j*d+i]) / 2
		}
	}
	v := make([]float64, d*d)
	for i := range d {
		v[i*d+i] = 1
	}
	norm := 0.0
	for _, x := range m {
		norm += x * x
	}
	const maxSweeps = 100
	for sweep := 0; ; sweep++ {
		off := 0.0
		for i := range d {
			for j := i + 1; j < d; j++ {
				off += m[i*d+j] * m[i*d+j]
			}
		}
		if off <= 1e-30*norm || off == 0 {
			break
		}
		if sweep == maxSweeps {
			return nil, nil, fmt.Errorf("Jacobi eigenvalue iteration did not converge in %d sweeps (off-diagonal %g of %g)",
				maxSweeps, off, norm)
		}
		for p := range d {
			for q := p + 1; q < d; q++ {
				apq := m[p*d+q]
				if apq == 0 {
					continue
				}
				app, aqq := m[p*d+p], m[q*d+q]
				// Rotation angle θ with tan(2θ) = 2·apq / (aqq − app); t = tan θ, the smaller root.
				theta := (aqq - app) / (2 * apq)
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range d { // rows p and q of m ← Jᵀ·m
					mpk, mqk := m[p*d+k], m[q*d+k]
					m[p*d+k] = c*mpk - s*mqk
					m[q*d+k] = s*mpk + c*mqk
				}
				for k := range d { // columns p and q of m ← m·J, and of v ← v·J
					mkp, mkq := m[k*d+p], m[k*d+q]
					m[k*d+p] = c*mkp - s*mkq
					m[k*d+q] = s*mkp + c*mkq
					vkp, vkq := v[k*d+p], v[k*d+q]
					v[k*d+p] = c*vkp - s*vkq
					v[k*d+q] = s*vkp + c*vkq
				}
				m[p*d+q], m[q*d+p] = 0, 0
			}
		}
	}
	eigenvalues = make([]float64, d)
	for i := range d {
		eigenvalues[i] = m[i*d+i]
	}
	return eigenvalues, v, nil
}
