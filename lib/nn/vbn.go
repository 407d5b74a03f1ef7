package nn

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// VirtualBatchNormBuilder configures a virtual batch normalisation layer created by
// VirtualBatchNorm; call Done to build it.
type VirtualBatchNormBuilder struct {
	scope     *model.Scope
	x         *graph.Node
	reference int
	epsilon   float64
}

// VirtualBatchNorm starts building a virtual batch normalisation layer (Salimans et al. 2016,
// §3.4): batch normalisation makes each generated example depend on the others in its batch;
// VBN instead normalises every example with the statistics of a reference batch, chosen once and
// fixed at the start of training, combined with the example itself.
//
// How the reference batch is supplied: as in openai/improved-gan (imagenet/model.py, class VBN),
// the reference batch runs through the same network in the same graph, so its statistics are
// those of the current weights. The first reference rows of x are the reference batch's
// activations and the remaining rows the examples'; WithReferenceBatch wraps a generator so
// that a fixed reference z batch is prepended to every batch and its rows removed from the
// output. With R = reference, statistics over every axis but the channels (the last) for the
// reference batch and over the spatial axes alone for one example i:
//
//	μ_ref = mean(x_ref),         ν_ref = mean(x_ref²)
//	μ_i = 1/(R+1)·mean(x_i) + R/(R+1)·μ_ref,   ν_i = 1/(R+1)·mean(x_i²) + R/(R+1)·ν_ref
//	y_i = (x_i − μ_i) / √(ε + ν_i − μ_i²) · γ + β
//
// and the reference rows themselves are normalised with (μ_ref, ν_ref) alone. The layer behaves
// the same in training and evaluation graphs and keeps no running statistics; gradients flow
// through the reference statistics, as in the reference code. x is [R+N, C] or [R+N, H, W, C].
//
// Variables, created directly in scope: "scale" γ [C] and "offset" β [C] (γ = 1 by default,
// N(1, 0.02²) under InitDCGAN as in the reference code; β = 0). Default ε = 1e-5.
func VirtualBatchNorm(scope *model.Scope, x *graph.Node, reference int) *VirtualBatchNormBuilder {
	return &VirtualBatchNormBuilder{scope: scope, x: x, reference: reference, epsilon: 1e-5}
}

// Epsilon sets the value added to the variance before the square root (default 1e-5).
func (b *VirtualBatchNormBuilder) Epsilon(epsilon float64) *VirtualBatchNormBuilder {
	b.epsilon = epsilon
	return b
}

// Done creates the variables and returns the normalised x, with the shape of x (reference rows
// first).
func (b *VirtualBatchNormBuilder) Done() *graph.Node {
	x := b.x
	dims := x.Shape().Dimensions
	if x.Rank() < 2 || b.reference < 1 || b.reference > dims[0] {
		exceptions.Panicf("nn.VirtualBatchNorm: need x [R+N, ..., C] with 1 <= R = %d <= batch, got shape %s",
			b.reference, x.Shape())
	}
	if b.epsilon < 0 {
		exceptions.Panicf("nn.VirtualBatchNorm: epsilon must be >= 0, got %g", b.epsilon)
	}
	g := x.Graph()
	channels := dims[len(dims)-1]
	r := b.reference
	ref := graph.Slice(x, graph.AxisRange(0, r)) // [R, ..., C]
	spatial := make([]int, 0, x.Rank()-2)        // the axes between batch and channels
	for axis := 1; axis < x.Rank()-1; axis++ {
		spatial = append(spatial, axis)
	}
	all := append([]int{0}, spatial...)
	refMean := graph.ReduceAndKeep(ref, graph.ReduceMean, all...)                 // [1, ..., 1, C]
	refMeanSq := graph.ReduceAndKeep(graph.Square(ref), graph.ReduceMean, all...) // [1, ..., 1, C]

	// Per-example statistics of every row, mixed with the reference's.
	exMean, exMeanSq := x, graph.Square(x)
	if len(spatial) > 0 {
		exMean = graph.ReduceAndKeep(x, graph.ReduceMean, spatial...)                 // [R+N, 1, 1, C]
		exMeanSq = graph.ReduceAndKeep(graph.Square(x), graph.ReduceMean, spatial...) // [R+N, 1, 1, C]
	}
	newCoeff := 1 / float64(r+1)
	mix := func(example, reference *graph.Node) *graph.Node {
		return graph.Add(graph.MulScalar(example, newCoeff), graph.MulScalar(reference, 1-newCoeff))
	}
	mean, meanSq := mix(exMean, refMean), mix(exMeanSq, refMeanSq)
	// The reference rows use the reference statistics alone.
	isRef := graph.BroadcastToDims(referenceRows(g, dims[0], r, x.Rank()), mean.Shape().Dimensions...)
	mean = graph.Where(isRef, graph.BroadcastToShape(refMean, mean.Shape()), mean)
	meanSq = graph.Where(isRef, graph.BroadcastToShape(refMeanSq, meanSq.Shape()), meanSq)

	variance := graph.Sub(meanSq, graph.Square(mean))
	y := graph.Div(graph.Sub(x, mean), graph.Sqrt(graph.AddScalar(variance, b.epsilon)))
	perChannel := make([]int, x.Rank())
	for i := range perChannel {
		perChannel[i] = 1
	}
	perChannel[x.Rank()-1] = channels
	scale := normScaleVariable(b.scope, "scale", x.DType(), channels).NodeValue(g)
	offset := constantVariable(b.scope, "offset", x.DType(), channels, 0).NodeValue(g)
	return graph.Add(graph.Mul(y, graph.Reshape(scale, perChannel...)), graph.Reshape(offset, perChannel...))
}

// referenceRows returns a boolean [n, 1, ..., 1] (rank axes) that is true on the first r rows.
func referenceRows(g *graph.Graph, n, r, rank int) *graph.Node {
	values := make([]bool, n)
	for i := 0; i < r; i++ {
		values[i] = true
	}
	dims := make([]int, rank)
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = n
	return graph.Reshape(graph.Const(g, values), dims...)
}

// WithReferenceBatch wraps a generator whose VirtualBatchNorm layers take the reference batch in
// their first rows: the returned function prepends the fixed latent vectors reference ([R,
// latent] flat, drawn once, e.g. with the run's seed) to every z batch, runs net on the R + N rows
// and returns only the N rows of z. It has the signature of lib/gan's and lib/ssl's generators,
// so a VBN generator trains with the engines unchanged. Give net's VirtualBatchNorm layers the same
// R = len(reference)/latent.
func WithReferenceBatch(net func(scope *model.Scope, z *graph.Node) *graph.Node, reference []float32,
	latent int) func(scope *model.Scope, z *graph.Node) *graph.Node {
	if latent <= 0 || len(reference) == 0 || len(reference)%latent != 0 {
		exceptions.Panicf("nn.WithReferenceBatch: %d reference values is not a whole number of latent vectors of size %d",
			len(reference), latent)
	}
	r := len(reference) / latent
	return func(scope *model.Scope, z *graph.Node) *graph.Node {
		if z.Rank() != 2 || z.Shape().Dimensions[1] != latent {
			exceptions.Panicf("nn.WithReferenceBatch: z must be [batch, %d], got shape %s", latent, z.Shape())
		}
		ref := graph.ConstTensor(z.Graph(), tensors.FromFlatDataAndDimensions(reference, r, latent))
		if ref.DType() != z.DType() {
			ref = graph.ConvertDType(ref, z.DType())
		}
		out := net(scope, graph.Concatenate([]*graph.Node{ref, z}, 0))
		return graph.Slice(out, graph.AxisRangeToEnd(r))
	}
}
