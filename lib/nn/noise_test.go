package nn_test

import (
	"math"
	"testing"

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
