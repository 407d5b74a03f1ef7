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

func TestMinibatchDiscriminationParity(t *testing.T) {
	f := loadFixture(t, "minibatch_discrimination")
	params := []layerParam{
		{name: "theta", value: f.Get("theta"), gradName: "grad_theta", toLayout: identity},
		{name: "log_weight_scale", value: f.Get("log_weight_scale"), gradName: "grad_log_weight_scale", toLayout: identity},
		{name: "biases", value: f.Get("bias"), gradName: "grad_bias", toLayout: identity},
	}
	checkLayer(t, f, false, params, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return nn.MinibatchDiscrimination(scope, x).Kernels(f.Int("kernels")).KernelDim(f.Int("kernel_dim")).Done()
	})
}

// TestMinibatchDiscriminationByHand uses T = I (A = C = 2, one kernel, log-scale 0, so the
// weight normalisation leaves it unchanged): M_i = x_i, and for x = (0,0), (1,0), (0,2) the L1
// distances are d01 = 1, d02 = 2, d12 = 3, so o = (e⁻¹+e⁻², e⁻¹+e⁻³, e⁻²+e⁻³) − 1.
func TestMinibatchDiscriminationByHand(t *testing.T) {
	store := model.NewStore()
	scope := store.Scope("/mbd")
	theta := tensors.FromFlatDataAndDimensions([]float64{1, 0, 0, 1}, 2, 1, 2) // θ[a, 0, c] = δ_ac
	if _, err := scope.CreateVariable("theta", theta); err != nil {
		t.Fatal(err)
	}
	exec := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return nn.MinibatchDiscrimination(scope.In("mbd"), x).Kernels(1).KernelDim(2).Done()
	})
	got := tensors.MustCopyFlatData[float64](exec.MustExec([][]float64{{0, 0}, {1, 0}, {0, 2}})[0])
	e := math.Exp
	want := []float64{
		0, 0, e(-1) + e(-2) - 1,
		1, 0, e(-1) + e(-3) - 1,
		0, 2, e(-2) + e(-3) - 1,
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("output %v, want %v", got, want)
		}
	}
}

// TestMinibatchDiscriminationFiniteDifferences compares the gradients of sum(y·u) with respect to
// the input and to θ with central finite differences, in float64.
func TestMinibatchDiscriminationFiniteDifferences(t *testing.T) {
	const n, a, kernels, dim = 4, 3, 2, 2
	rng := rand.New(rand.NewPCG(3, 4))
	random := func(size int, scale float64) []float64 {
		v := make([]float64, size)
		for i := range v {
			v[i] = scale * rng.NormFloat64()
		}
		return v
	}
	x := random(n*a, 0.7)
	theta := random(a*kernels*dim, 1)
	upstream := random(n*(a+kernels), 1)

	store := model.NewStore()
	scope := store.Scope("/mbd")
	if _, err := scope.CreateVariable("theta", tensors.FromFlatDataAndDimensions(theta, a, kernels, dim)); err != nil {
		t.Fatal(err)
	}
	exec := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, x, u *graph.Node) []*graph.Node {
		y := nn.MinibatchDiscrimination(scope.In("mbd"), x).Kernels(kernels).KernelDim(dim).Done()
		loss := graph.ReduceAllSum(graph.Mul(y, u))
		thetaNode := store.GetVariable("/mbd/theta").NodeValue(x.Graph())
		return append([]*graph.Node{loss}, graph.Gradient(loss, x, thetaNode)...)
	})
	uTensor := tensors.FromFlatDataAndDimensions(upstream, n, a+kernels)
	run := func(x, theta []float64) []*tensors.Tensor {
		store.GetVariable("/mbd/theta").MustSetValue(tensors.FromFlatDataAndDimensions(theta, a, kernels, dim))
		return exec.MustExec(tensors.FromFlatDataAndDimensions(x, n, a), uTensor)
	}
	out := run(x, theta)
	analytic := [][]float64{tensors.MustCopyFlatData[float64](out[1]), tensors.MustCopyFlatData[float64](out[2])}
	const h = 1e-6
	for which, values := range [][]float64{x, theta} {
		worst := 0.0
		for i := range values {
			orig := values[i]
			values[i] = orig + h
			plus := tensors.ToScalar[float64](run(x, theta)[0])
			values[i] = orig - h
			minus := tensors.ToScalar[float64](run(x, theta)[0])
			values[i] = orig
			numeric := (plus - minus) / (2 * h)
			worst = max(worst, math.Abs(numeric-analytic[which][i])/max(1, math.Abs(numeric)))
		}
		t.Logf("gradient w.r.t. %s: max relative error %.2e", []string{"x", "theta"}[which], worst)
		if worst > 1e-6 {
			t.Errorf("gradient w.r.t. %s differs from finite differences by %.3g", []string{"x", "theta"}[which], worst)
		}
	}
}
