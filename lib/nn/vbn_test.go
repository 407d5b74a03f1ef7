package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/nn"
)

// vbnByHand is the reference code's VBN (imagenet/model.py) in float64 on x [R+N, S, C] (S spatial
// positions): reference rows with the reference statistics, example rows with
// 1/(R+1)·(own statistics) + R/(R+1)·(reference statistics); γ = 1, β = 0.
func vbnByHand(x []float64, r, n, s, c int, eps float64) []float64 {
	refMean, refSq := make([]float64, c), make([]float64, c)
	for i := 0; i < r; i++ {
		for p := 0; p < s; p++ {
			for k := 0; k < c; k++ {
				v := x[(i*s+p)*c+k]
				refMean[k] += v / float64(r*s)
				refSq[k] += v * v / float64(r*s)
			}
		}
	}
	y := make([]float64, len(x))
	for i := 0; i < r+n; i++ {
		for k := 0; k < c; k++ {
			mean, sq := refMean[k], refSq[k]
			if i >= r {
				var own, ownSq float64
				for p := 0; p < s; p++ {
					v := x[(i*s+p)*c+k]
					own += v / float64(s)
					ownSq += v * v / float64(s)
				}
				w := 1 / float64(r+1)
				mean = w*own + (1-w)*refMean[k]
				sq = w*ownSq + (1-w)*refSq[k]
			}
			for p := 0; p < s; p++ {
				y[(i*s+p)*c+k] = (x[(i*s+p)*c+k] - mean) / math.Sqrt(eps+sq-mean*mean)
			}
		}
	}
	return y
}

func TestVirtualBatchNormMixing(t *testing.T) {
	const r, n, c = 3, 2, 2
	rng := rand.New(rand.NewPCG(9, 9))
	for _, spatial := range [][]int{nil, {2, 3}} { // x [R+N, C] and x [R+N, 2, 3, C]
		s := 1
		dims := []int{r + n}
		for _, d := range spatial {
			s *= d
			dims = append(dims, d)
		}
		dims = append(dims, c)
		x := make([]float64, (r+n)*s*c)
		for i := range x {
			x[i] = 2*rng.NormFloat64() + 1
		}
		exec := model.MustNewExec(backend.MustNew(), model.NewStore(), func(scope *model.Scope, x *graph.Node) *graph.Node {
			return nn.VirtualBatchNorm(scope.In("vbn"), x, r).Epsilon(1e-3).Done()
		})
		got := tensors.MustCopyFlatData[float64](exec.MustExec(tensors.FromFlatDataAndDimensions(x, dims...))[0])
		want := vbnByHand(x, r, n, s, c, 1e-3)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Fatalf("x %v: output[%d] = %.15g, by hand %.15g", dims, i, got[i], want[i])
			}
		}
		// An example's output does not depend on the other examples of its batch.
		other := append([]float64(nil), x...)
		for i := (r + 1) * s * c; i < len(other); i++ {
			other[i] += 5
		}
		again := tensors.MustCopyFlatData[float64](exec.MustExec(tensors.FromFlatDataAndDimensions(other, dims...))[0])
		for i := 0; i < (r+1)*s*c; i++ {
			if again[i] != got[i] {
				t.Fatalf("x %v: changing example 2 changed element %d of the reference or example 1", dims, i)
			}
		}
	}
}

// TestWithReferenceBatch checks that a generator wrapped with a fixed reference batch returns one
// row per z, the same in training and evaluation graphs, independent of the rest of its batch.
func TestWithReferenceBatch(t *testing.T) {
	const latent, r = 4, 8
	rng := rand.New(rand.NewPCG(4, 4))
	normal := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	reference := normal(r * latent)
	gen := nn.WithReferenceBatch(func(scope *model.Scope, z *graph.Node) *graph.Node {
		h := nn.VirtualBatchNorm(scope.In("vbn"), nn.Dense(scope.In("fc"), z, 6), r).Done() // [R+N, 6]
		return nn.Dense(scope.In("out"), graph.Tanh(h), 2)                                  // [R+N, 2]
	}, reference, latent)
	store := model.NewStore()
	train := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, z *graph.Node) *graph.Node {
		store.SetTraining(z.Graph(), true)
		return gen(scope, z)
	})
	eval := model.MustNewExec(backend.MustNew(), store, gen)
	a := normal(3 * latent)
	b := append(append([]float32(nil), a[:latent]...), normal(2*latent)...) // same first z, other companions
	outA := train.MustExec(tensors.FromFlatDataAndDimensions(a, 3, latent))[0]
	if dims := outA.Shape().Dimensions; len(dims) != 2 || dims[0] != 3 || dims[1] != 2 {
		t.Fatalf("output shape %v, want [3 2]", dims)
	}
	ya := tensors.MustCopyFlatData[float32](outA)
	yb := tensors.MustCopyFlatData[float32](train.MustExec(tensors.FromFlatDataAndDimensions(b, 3, latent))[0])
	ye := tensors.MustCopyFlatData[float32](eval.MustExec(tensors.FromFlatDataAndDimensions(a, 3, latent))[0])
	for k := 0; k < 2; k++ {
		if math.Abs(float64(ya[k]-yb[k])) > 1e-6 || math.Abs(float64(ya[k]-ye[k])) > 1e-6 {
			t.Fatalf("first sample: %v in batch a, %v in batch b, %v in evaluation; want equal", ya[:2], yb[:2], ye[:2])
		}
	}
}
