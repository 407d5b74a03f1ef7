package nn

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// MinibatchSelfMask is the distance added to each example's distance to itself before the
// exponential, as openai/improved-gan does (1e6·I): exp(−1e6) is exactly 0 in float32 and float64,
// so an example never counts as its own neighbour.
const MinibatchSelfMask = 1e6

// MinibatchDiscriminationBuilder configures a minibatch discrimination layer created by
// MinibatchDiscrimination; call Done to build it.
type MinibatchDiscriminationBuilder struct {
	scope     *model.Scope
	x         *graph.Node
	kernels   int
	kernelDim int
}

// MinibatchDiscrimination starts building a minibatch discrimination layer (Salimans et al. 2016,
// §3.2), which lets the discriminator look at a whole batch and so detect a generator that
// collapses onto few modes. With f(x_i) ∈ R^A the flattened input features of example i and a
// tensor T ∈ R^{A×B×C} (B kernels of dimension C):
//
//	M_i = f(x_i)·T ∈ R^{B×C}
//	c_b(x_i, x_j) = exp(−‖M_{i,b} − M_{j,b}‖_{L1})
//	o(x_i)_b = Σ_{j≠i} c_b(x_i, x_j) + bias_b,     o(x_i) ∈ R^B
//
// and the layer returns [f(x_i), o(x_i)], shape [batch, A + B]. As in openai/improved-gan's
// nn.MinibatchLayer, T is weight-normalised per kernel entry (T = θ · exp(s) / ‖θ‖, the norm over
// the A axis, s a learned log-scale [B, C]), the self-distance is masked by adding
// MinibatchSelfMask, and the bias is initialised to −1. Defaults: B = 100 kernels, C = 5.
//
// Variables, created directly in scope: "theta" θ [A, B, C] (N(0, 0.05²)), "log_weight_scale" s
// [B, C] (0) and "biases" [B] (−1).
//
// The output depends on every example of the batch, so evaluate it on batches of the size it was
// trained on (and never on a batch of one, where o = bias).
func MinibatchDiscrimination(scope *model.Scope, x *graph.Node) *MinibatchDiscriminationBuilder {
	return &MinibatchDiscriminationBuilder{scope: scope, x: x, kernels: 100, kernelDim: 5}
}

// Kernels sets B, the number of kernels (features added to each example; default 100).
func (b *MinibatchDiscriminationBuilder) Kernels(kernels int) *MinibatchDiscriminationBuilder {
	b.kernels = kernels
	return b
}

// KernelDim sets C, the dimension of each kernel's projection (default 5).
func (b *MinibatchDiscriminationBuilder) KernelDim(dim int) *MinibatchDiscriminationBuilder {
	b.kernelDim = dim
	return b
}

// Done creates the variables and returns [f(x), o(x)] of shape [batch, A + B].
func (b *MinibatchDiscriminationBuilder) Done() *graph.Node {
	x := b.x
	if x.Rank() < 2 {
		exceptions.Panicf("nn.MinibatchDiscrimination: input must be [batch, ...features], got shape %s", x.Shape())
	}
	if b.kernels <= 0 || b.kernelDim <= 0 {
		exceptions.Panicf("nn.MinibatchDiscrimination: kernels and kernel dimension must be positive, got %d and %d",
			b.kernels, b.kernelDim)
	}
	g := x.Graph()
	dtype := x.DType()
	batch := x.Shape().Dimensions[0]
	features := graph.Reshape(x, batch, -1) // [N, A]
	a := features.Shape().Dimensions[1]
	nk, nc := b.kernels, b.kernelDim

	theta := b.scope.WithInitializer(normalInit(b.scope, 0, 0.05)).
		VariableWithShape("theta", shapes.Make(dtype, a, nk, nc)).NodeValue(g)
	logScale := b.scope.WithInitializer(constantInit(0)).
		VariableWithShape("log_weight_scale", shapes.Make(dtype, nk, nc)).NodeValue(g)
	bias := constantVariable(b.scope, "biases", dtype, nk, -1).NodeValue(g)

	// T = θ·exp(s)/‖θ‖ (norm over A, one per kernel entry).
	norm := graph.Sqrt(graph.ReduceAndKeep(graph.Square(theta), graph.ReduceSum, 0)) // [1, B, C]
	t := graph.Mul(theta, graph.Div(graph.InsertAxes(graph.Exp(logScale), 0), norm)) // [A, B, C]

	m := graph.Reshape(graph.Dot(features, graph.Reshape(t, a, nk*nc)).Product(), batch, nk, nc) // [N, B, C]
	diff := graph.Sub(graph.InsertAxes(m, 1), graph.InsertAxes(m, 0))                            // [N, N, B, C]: M_i − M_j
	l1 := graph.ReduceSum(graph.Abs(diff), 3)                                                    // [N, N, B]
	l1 = graph.Add(l1, selfMask(g, dtype, batch))                                                // + 1e6 on i = j
	o := graph.ReduceSum(graph.Exp(graph.Neg(l1)), 1)                                            // [N, B]: Σ_j c_b(i, j)
	o = graph.Add(o, graph.InsertAxes(bias, 0))
	return graph.Concatenate([]*graph.Node{features, o}, 1) // [N, A + B]
}

// selfMask returns MinibatchSelfMask·I as a [n, n, 1] constant.
func selfMask(g *graph.Graph, dtype dtypes.DType, n int) *graph.Node {
	values := make([]float64, n*n)
	for i := 0; i < n; i++ {
		values[i*n+i] = MinibatchSelfMask
	}
	mask := graph.Reshape(graph.Const(g, values), n, n, 1)
	if dtype != dtypes.Float64 {
		mask = graph.ConvertDType(mask, dtype)
	}
	return mask
}
