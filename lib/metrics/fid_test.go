package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// diag returns the d×d diagonal matrix with the given diagonal, row after row.
func diag(values ...float64) []float64 {
	d := len(values)
	m := make([]float64, d*d)
	for i, v := range values {
		m[i*d+i] = v
	}
	return m
}

// randomCovariance returns Aᵀ·A/d for a random d×d matrix A: symmetric positive definite.
func randomCovariance(rng *rand.Rand, d int) []float64 {
	a := make([]float64, d*d)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	cov := make([]float64, d*d)
	for i := range d {
		for j := range d {
			for k := range d {
				cov[i*d+j] += a[k*d+i] * a[k*d+j] / float64(d)
			}
		}
	}
	return cov
}

func TestSymmetricEigenReconstructs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const d = 20
	a := randomCovariance(rng, d)
	values, vectors, err := symmetricEigen(a, d)
	if err != nil {
		t.Fatal(err)
	}
	// V·diag(λ)·Vᵀ must give a back, and VᵀV must be the identity.
	for i := range d {
		for j := range d {
			rebuilt, gram := 0.0, 0.0
			for k := range d {
				rebuilt += vectors[i*d+k] * values[k] * vectors[j*d+k]
				gram += vectors[k*d+i] * vectors[k*d+j]
			}
			if math.Abs(rebuilt-a[i*d+j]) > 1e-12 {
				t.Fatalf("V·Λ·Vᵀ[%d,%d] = %g, want %g", i, j, rebuilt, a[i*d+j])
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(gram-want) > 1e-12 {
				t.Fatalf("VᵀV[%d,%d] = %g, want %g", i, j, gram, want)
			}
		}
	}
	// The square root squares back to a.
	root, err := symmetricSqrt(a, d)
	if err != nil {
		t.Fatal(err)
	}
	squared := matMul(root, root, d)
	for i := range squared {
		if math.Abs(squared[i]-a[i]) > 1e-12 {
			t.Fatalf("sqrt(a)² differs from a at %d: %g vs %g", i, squared[i], a[i])
		}
	}
}

func TestFrechetDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const d = 16
	cov := randomCovariance(rng, d)
	mu := make([]float64, d)
	shifted := make([]float64, d)
	shift2 := 0.0
	for i := range mu {
		mu[i] = rng.NormFloat64()
		delta := rng.NormFloat64()
		shifted[i] = mu[i] + delta
		shift2 += delta * delta
	}
	// A 2x2 pair that does not commute: for 2x2 PSD matrices with eigenvalues m1, m2 of Σ1Σ2,
	// Tr((Σ1Σ2)^½) = √m1 + √m2 = √(Tr(Σ1Σ2) + 2·√det(Σ1Σ2)).
	c1 := []float64{2, 1, 1, 2}
	c2 := []float64{1, 0, 0, 3}
	// Σ1Σ2 = [[2, 3], [1, 6]]: trace 8, determinant 9.
	nonCommuting := 2 + 2 + 1 + 3 - 2*math.Sqrt(8+2*math.Sqrt(9))

	tests := []struct {
		name                 string
		mu1, cov1, mu2, cov2 []float64
		want                 float64
	}{
		{"identical Gaussians", mu, cov, mu, cov, 0},
		{"translation gives ‖Δμ‖²", mu, cov, shifted, cov, shift2},
		{"diagonal Gaussians: Σ(√a−√b)² + ‖Δμ‖²", []float64{0, 1, 2}, diag(1, 4, 9), []float64{1, 1, 0}, diag(4, 1, 16),
			1 + 0 + 4 + (1-2)*(1-2) + (2-1)*(2-1) + (3-4)*(3-4)},
		{"standard normal against N(0, 4I)", []float64{0, 0}, diag(1, 1), []float64{0, 0}, diag(4, 4), 2},
		{"non-commuting 2x2 covariances", []float64{0, 0}, c1, []float64{0, 0}, c2, nonCommuting},
		{"singular covariance (a point mass) against N(0, I)", []float64{0, 0, 0}, diag(0, 0, 0), []float64{0, 0, 0}, diag(1, 1, 1), 3},
	}
	for _, tc := range tests {
		got, err := FrechetDistance(tc.mu1, tc.cov1, tc.mu2, tc.cov2)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if math.Abs(got-tc.want) > 1e-9*max(1, tc.want) {
			t.Errorf("%s: FrechetDistance = %.12g, want %.12g", tc.name, got, tc.want)
		}
		// The distance is symmetric in its two Gaussians.
		back, err := FrechetDistance(tc.mu2, tc.cov2, tc.mu1, tc.cov1)
		if err != nil || math.Abs(back-got) > 1e-9*max(1, got) {
			t.Errorf("%s: swapped arguments give %.12g (%v), want %.12g", tc.name, back, err, got)
		}
	}

	if _, err := FrechetDistance([]float64{0, 0}, diag(1, 1), []float64{0}, diag(1)); err == nil {
		t.Error("FrechetDistance accepted Gaussians of different dimensions")
	}
	if _, err := FrechetDistance([]float64{math.NaN()}, diag(1), []float64{0}, diag(1)); err == nil {
		t.Error("FrechetDistance accepted a NaN mean")
	}
}

func TestFeatureStats(t *testing.T) {
	// Three 2-dimensional vectors: (1, 2), (3, 2), (5, 8).
	stats, err := FeatureStats([]float32{1, 2, 3, 2, 5, 8}, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Mean (3, 4); centred (−2, −2), (0, −2), (2, 4); unbiased covariance: sums 8, 12, 24 over 2.
	want := GaussianStats{Dim: 2, N: 3, Mean: []float64{3, 4}, Cov: []float64{4, 6, 6, 12}}
	for i, v := range want.Mean {
		if math.Abs(stats.Mean[i]-v) > 1e-12 {
			t.Errorf("mean[%d] = %g, want %g", i, stats.Mean[i], v)
		}
	}
	for i, v := range want.Cov {
		if math.Abs(stats.Cov[i]-v) > 1e-12 {
			t.Errorf("cov[%d] = %g, want %g", i, stats.Cov[i], v)
		}
	}
	if _, err := FeatureStats([]float32{1, 2}, 1, 2); err == nil {
		t.Error("FeatureStats accepted a single vector")
	}

	// Samples of two Gaussians: their empirical FID approaches the exact distance.
	rng := rand.New(rand.NewPCG(5, 6))
	const n, d = 20000, 4
	a, b := make([]float32, n*d), make([]float32, n*d)
	for i := range n * d {
		a[i] = float32(rng.NormFloat64())
		b[i] = float32(2*rng.NormFloat64() + 1) // N(1, 4) in every coordinate
	}
	sa, _ := FeatureStats(a, n, d)
	sb, _ := FeatureStats(b, n, d)
	got, err := FIDFromStats(sa, sb)
	if err != nil {
		t.Fatal(err)
	}
	// Exact: ‖Δμ‖² = 4·1, Σ(√1 − √4)² = 4·1.
	if math.Abs(got-8) > 0.3 {
		t.Errorf("FID of samples of N(0, I) and N(1, 4I) in 4 dimensions = %g, want about 8", got)
	}
}
