package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/internal/torchfix"
	"github.com/advlab/advlab/lib/nn"
)

// TestWeightNormDenseParity compares with torch.nn.utils.weight_norm(nn.Linear(10, 7)): output and
// gradients with respect to x, v, g and b.
func TestWeightNormDenseParity(t *testing.T) {
	f := loadFixture(t, "weight_norm_linear")
	flatG := func(g torchfix.Tensor) torchfix.Tensor {
		return torchfix.Tensor{Shape: []int{g.Shape[0]}, Data: g.Data}
	}
	params := []layerParam{
		{name: "weights_v", value: torchfix.LinearWeight(f.Get("weight_v")), gradName: "grad_weight_v", toLayout: torchfix.LinearWeight},
		{name: "weights_g", value: flatG(f.Get("weight_g")), gradName: "grad_weight_g", toLayout: flatG},
		{name: "biases", value: f.Get("bias"), gradName: "grad_bias", toLayout: identity},
	}
	checkLayer(t, f, false, params, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return nn.WeightNormDense(scope, x, f.Int("out")).Done()
	})
}

// TestWeightNormDenseProperties checks w = g·v/‖v‖: the output does not change when v is scaled,
// and with g = 1 each unit's effective weight vector has unit length; FixedScale makes g
// non-trainable.
func TestWeightNormDenseProperties(t *testing.T) {
	const in, out, batch = 5, 3, 4
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, batch*in)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	store := model.NewStore()
	exec := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		y := nn.WeightNormDense(scope.In("wn"), x, out).NoBias().Done()
		yFixed := nn.WeightNormDense(scope.In("fixed"), x, out).FixedScale().Done()
		// The effective weights are the output for the identity matrix.
		eye := graph.Identity(graph.DiagonalWithValue(graph.Scalar(x.Graph(), x.DType(), 1), in))
		return []*graph.Node{y, nn.WeightNormDense(store.Scope("/wn"), eye, out).NoBias().Done(), yFixed} // a fresh scope: the same variables
	})
	first := exec.MustExec(tensors.FromFlatDataAndDimensions(x, batch, in))
	w := tensors.MustCopyFlatData[float32](first[1]) // [in, out]
	for j := 0; j < out; j++ {
		var norm float64
		for i := 0; i < in; i++ {
			norm += float64(w[i*out+j]) * float64(w[i*out+j])
		}
		if math.Abs(math.Sqrt(norm)-1) > 1e-6 {
			t.Errorf("unit %d: ‖w‖ = %.7f, want 1 (g = 1)", j, math.Sqrt(norm))
		}
	}
	v := store.GetVariable("/wn/weights_v")
	scaled := tensors.MustCopyFlatData[float32](v.MustValue())
	for i := range scaled {
		scaled[i] *= 7
	}
	v.MustSetValue(tensors.FromFlatDataAndDimensions(scaled, in, out))
	second := exec.MustExec(tensors.FromFlatDataAndDimensions(x, batch, in))
	a, b := tensors.MustCopyFlatData[float32](first[0]), tensors.MustCopyFlatData[float32](second[0])
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			t.Fatalf("scaling v by 7 changed the output: %v → %v", a, b)
		}
	}
	if store.GetVariable("/wn/weights_g").Trainable == false || store.GetVariable("/fixed/weights_g").Trainable {
		t.Error("weights_g should be trainable by default and fixed with FixedScale")
	}
}

// TestWeightNormDataInit runs a SetDataInit graph on a batch and checks that afterwards the layer's
// pre-activations on that batch have mean 0 and variance 1 per unit (Salimans & Kingma 2016, §3),
// and that the init graph's output is already that normalised value.
func TestWeightNormDataInit(t *testing.T) {
	const in, out, batch = 6, 4, 64
	rng := rand.New(rand.NewPCG(2, 2))
	x := make([]float32, batch*in)
	for i := range x {
		x[i] = float32(3*rng.NormFloat64() + 1)
	}
	store := model.NewStore()
	layer := func(scope *model.Scope, x *graph.Node) *graph.Node {
		return nn.WeightNormDense(scope.In("wn"), x, out).FixedScale().Done()
	}
	initExec := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		nn.SetDataInit(scope, x.Graph())
		return layer(scope, x)
	})
	exec := model.MustNewExec(backend.MustNew(), store, layer)
	xt := tensors.FromFlatDataAndDimensions(x, batch, in)
	initOut := tensors.MustCopyFlatData[float32](initExec.MustExec(xt)[0])
	after := tensors.MustCopyFlatData[float32](exec.MustExec(xt)[0])
	for j := 0; j < out; j++ {
		var mean, sq float64
		for i := 0; i < batch; i++ {
			mean += float64(after[i*out+j])
			if d := after[i*out+j] - initOut[i*out+j]; math.Abs(float64(d)) > 1e-4 {
				t.Fatalf("unit %d: init graph output %v, trained-graph output %v", j, initOut[i*out+j], after[i*out+j])
			}
		}
		mean /= batch
		for i := 0; i < batch; i++ {
			sq += (float64(after[i*out+j]) - mean) * (float64(after[i*out+j]) - mean)
		}
		std := math.Sqrt(sq / batch)
		if math.Abs(mean) > 1e-5 || math.Abs(std-1) > 1e-5 {
			t.Errorf("unit %d after data-dependent init: mean %.2g std %.6f, want 0 and 1", j, mean, std)
		}
	}
	g := tensors.MustCopyFlatData[float32](store.GetVariable("/wn/weights_g").MustValue())
	t.Logf("g after data-dependent init: %v", g)
	if g[0] == 1 {
		t.Error("data-dependent init left g at 1")
	}
}

// TestWeightNormInitStddev checks that InitStddev draws v from N(0, stddev²): over a 400x300
// layer, the sample standard deviation of v is within 2% of 0.1 and its mean within 0.002 of 0.
func TestWeightNormInitStddev(t *testing.T) {
	store := model.NewStore()
	exec := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return nn.WeightNormDense(scope.In("wn"), x, 300).InitStddev(0.1).Done()
	})
	exec.MustExec(tensors.FromFlatDataAndDimensions(make([]float32, 2*400), 2, 400))
	v := tensors.MustCopyFlatData[float32](store.GetVariable("/wn/weights_v").MustValue())
	var sum, squares float64
	for _, x := range v {
		sum += float64(x)
		squares += float64(x) * float64(x)
	}
	mean := sum / float64(len(v))
	std := math.Sqrt(squares/float64(len(v)) - mean*mean)
	if len(v) != 400*300 || math.Abs(mean) > 0.002 || math.Abs(std-0.1) > 0.002 {
		t.Errorf("v: %d values, mean %.4f, std %.4f; want 120000 values, mean 0, std 0.1", len(v), mean, std)
	}
}
