package nn_test

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/nn"
)

// TestGaussianNoise checks the noise's mean and standard deviation in training graphs, that two
// executions draw differently, that its gradient is the identity, and that evaluation graphs
// return the input exactly.
func TestGaussianNoise(t *testing.T) {
	const n, sigma = 100000, 0.5
	b := backend.MustNew()
	store := model.NewStore()
	store.RootScope().SetParam(model.ParamInitialSeed, int64(5))
	train := model.MustNewExec(b, store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		store.SetTraining(x.Graph(), true)
		y := nn.GaussianNoise(scope, x, sigma)
		return []*graph.Node{y, graph.Gradient(graph.ReduceAllSum(graph.MulScalar(y, 3)), x)[0]}
	})
	x := make([]float32, n)
	for i := range x {
		x[i] = 2
	}
	out := train.MustExec(x)
	y, grad := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	var mean, sq float64
	for _, v := range y {
		mean += float64(v) - 2
		sq += (float64(v) - 2) * (float64(v) - 2)
	}
	mean /= n
	std := math.Sqrt(sq/n - mean*mean)
	t.Logf("noise mean %.4f std %.4f (want 0 and %g)", mean, std, sigma)
	if math.Abs(mean) > 0.01 || math.Abs(std-sigma) > 0.01 {
		t.Errorf("noise mean %.4f std %.4f, want 0 ± 0.01 and %g ± 0.01", mean, std, sigma)
	}
	for _, g := range grad {
		if g != 3 {
			t.Fatalf("gradient %v, want the identity (3 for y·3)", g)
		}
	}
	again := tensors.MustCopyFlatData[float32](train.MustExec(x)[0])
	if again[0] == y[0] && again[1] == y[1] {
		t.Error("two executions drew the same noise")
	}

	eval := model.MustNewExec(b, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return nn.GaussianNoise(scope, x, sigma)
	})
	for i, v := range tensors.MustCopyFlatData[float32](eval.MustExec(x)[0]) {
		if v != x[i] {
			t.Fatalf("evaluation graph changed the input: %v at %d", v, i)
		}
	}
}

// TestRandomNormalPairs checks the paired Box-Muller draw: mean 0, variance 1, the normal's fourth
// moment (3), its tail mass beyond 2σ (4.55%), and no dependence between the two members of a pair
// (their product and their squares uncorrelated), on an odd count.
func TestRandomNormalPairs(t *testing.T) {
	const rows, cols = 3, 66667 // 200,001 values: 100,001 pairs, the last sine cut off
	b := backend.MustNew()
	store := model.NewStore()
	store.RootScope().SetParam(model.ParamInitialSeed, int64(7))
	exec := model.MustNewExec(b, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return nn.RandomNormal(scope, x.Graph(), shapes.Make(dtypes.Float32, rows, cols))
	})
	out := exec.MustExec(float32(0))[0]
	if dims := out.Shape().Dimensions; len(dims) != 2 || dims[0] != rows || dims[1] != cols {
		t.Fatalf("shape %v, want [%d %d]", dims, rows, cols)
	}
	z := tensors.MustCopyFlatData[float32](out)
	n := float64(len(z))
	var mean, m2, m4, tail float64
	for _, v := range z {
		x := float64(v)
		mean += x
		m2 += x * x
		m4 += x * x * x * x
		if math.Abs(x) > 2 {
			tail++
		}
	}
	mean, m2, m4, tail = mean/n, m2/n, m4/n, tail/n
	half := (len(z) + 1) / 2
	var prod, sqCov float64
	pairs := float64(len(z) - half)
	for i := 0; i < len(z)-half; i++ {
		a, c := float64(z[i]), float64(z[i+half])
		prod += a * c
		sqCov += (a*a - 1) * (c*c - 1)
	}
	prod, sqCov = prod/pairs, sqCov/pairs
	t.Logf("mean %.4f var %.4f 4th moment %.3f tail %.4f pair product %.4f squares' covariance %.4f", mean, m2, m4, tail, prod, sqCov)
	// Standard errors at n = 200,000: mean 0.0022, variance 0.0032, 4th moment 0.022, tail 0.00047;
	// the pairs' statistics (100,000) 0.0032 and 0.0045. The bounds are about 4 of them.
	if math.Abs(mean) > 0.01 || math.Abs(m2-1) > 0.015 || math.Abs(m4-3) > 0.1 || math.Abs(tail-0.0455) > 0.002 ||
		math.Abs(prod) > 0.013 || math.Abs(sqCov) > 0.02 {
		t.Errorf("not independent standard normals: mean %.4f, variance %.4f, 4th moment %.3f, P(|z|>2) %.4f, "+
			"E[z1 z2] %.4f, Cov(z1², z2²) %.4f", mean, m2, m4, tail, prod, sqCov)
	}
}

// TestBoxMullerZeroDraw feeds the transform the uniform draws at the ends of [0, 1), 0 included
// (GoMLX's generator gives it once in 2³² draws): every normal must be finite, and the largest
// radius √(−2 ln u1) that of the smallest normal float32, 13.2. Raising u1 to the smallest
// non-zero float32 instead, a denormal that XLA's CPU compiler flushes to zero, fails here on XLA
// CPU (r = +∞): that made the semi-supervised GAN's loss NaN after a few thousand steps.
func TestBoxMullerZeroDraw(t *testing.T) {
	u1 := []float32{0, 0, 0x1p-32, 0.5, math.Nextafter32(1, 0)}
	u2 := []float32{0, 0.125, 0.3, 0.75, 0.999}
	exec := graph.MustNewExec(backend.MustNew(), func(a, b *graph.Node) *graph.Node { return nn.BoxMuller(a, b) })
	z := tensors.MustCopyFlatData[float32](exec.MustExec(u1, u2)[0])
	if len(z) != 2*len(u1) {
		t.Fatalf("%d values, want %d", len(z), 2*len(u1))
	}
	rMax := math.Sqrt(-2 * math.Log(0x1p-126))
	for i := range u1 {
		c, s := float64(z[i]), float64(z[i+len(u1)])
		if math.IsNaN(c) || math.IsInf(c, 0) || math.IsNaN(s) || math.IsInf(s, 0) {
			t.Fatalf("u1=%g u2=%g gave (%g, %g): not finite", u1[i], u2[i], c, s)
		}
		want := rMax
		if u1[i] != 0 {
			want = math.Sqrt(-2 * math.Log(float64(u1[i])))
		}
		if r := math.Hypot(c, s); math.Abs(r-want) > 1e-4*want+1e-5 {
			t.Errorf("u1=%g u2=%g: radius %g, want %g", u1[i], u2[i], r, want)
		}
	}
}
