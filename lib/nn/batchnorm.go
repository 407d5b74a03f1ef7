package nn

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// BatchNormBuilder configures a batch normalisation layer created by BatchNorm; call Done to build it.
type BatchNormBuilder struct {
	scope    *model.Scope
	x        *graph.Node
	momentum float64
	epsilon  float64
	noAffine bool
}

// BatchNorm starts building a batch normalisation layer with PyTorch's semantics (Ioffe & Szegedy
// 2015, Algorithm 1) over the last axis of x, the channels: x [B, C] is nn.BatchNorm1d(C) and
// x [B, H, W, C] (NHWC) is nn.BatchNorm2d(C). Defaults: momentum 0.1, eps 1e-5, affine.
//
// In training graphs (scope.IsTraining(g), set with store.SetTraining(g, true)) it normalises with
// the statistics of the batch, over every axis but the last, with gradients flowing through them:
//
//	μ = mean(x),  σ² = mean((x − μ)²)  (biased),  y = (x − μ) / √(σ² + eps) · γ + β
//
// and updates the running statistics in the same graph, as PyTorch does on each forward pass:
//
//	running_mean ← (1 − momentum)·running_mean + momentum·μ
//	running_var  ← (1 − momentum)·running_var  + momentum·σ²·n/(n − 1)   (unbiased, n values per channel)
//
// In other graphs (evaluation, model.eval() in PyTorch) it uses the running statistics instead.
// Applying the same layer twice in one training graph updates the running statistics twice, in
// order, like two PyTorch forward passes.
//
// Variables, created directly in scope: "scale" γ [C] and "offset" β [C] (trainable; PyTorch's
// weight and bias; absent with NoAffine) and "running_mean" [C] (zeros) and "running_var" [C]
// (ones), which are not trainable: optimizers skip them, and model.Exec stores the values set with
// Variable.SetNodeValue after each execution.
//
// Example, nn.BatchNorm2d(128) after a convolution:
//
//	x = nn.BatchNorm(scope.In("bn2"), x).Done()
func BatchNorm(scope *model.Scope, x *graph.Node) *BatchNormBuilder {
	return &BatchNormBuilder{scope: scope, x: x, momentum: 0.1, epsilon: 1e-5}
}

// Momentum sets PyTorch's momentum, the weight of the new batch in the running statistics
// (default 0.1). Keras' momentum m corresponds to 1 − m here.
func (b *BatchNormBuilder) Momentum(momentum float64) *BatchNormBuilder {
	b.momentum = momentum
	return b
}

// Epsilon sets the value added to the variance before the square root (default 1e-5, PyTorch's
// eps; Keras uses 1e-3). Note nn.BatchNorm1d(n, 0.8) in some GAN code sets eps = 0.8, not momentum.
func (b *BatchNormBuilder) Epsilon(epsilon float64) *BatchNormBuilder {
	b.epsilon = epsilon
	return b
}

// NoAffine removes the learned scale and offset (PyTorch's affine=False).
func (b *BatchNormBuilder) NoAffine() *BatchNormBuilder {
	b.noAffine = true
	return b
}

// Done creates the variables and returns the normalised x, with the shape of x.
func (b *BatchNormBuilder) Done() *graph.Node {
	x := b.x
	if x.Rank() < 2 {
		exceptions.Panicf("nn.BatchNorm: input must be [B, C] or [B, ..., C], got shape %s", x.Shape())
	}
	if b.momentum < 0 || b.momentum > 1 || b.epsilon < 0 {
		exceptions.Panicf("nn.BatchNorm: need 0 <= momentum <= 1 and epsilon >= 0, got %g and %g", b.momentum, b.epsilon)
	}
	g := x.Graph()
	dtype := x.DType()
	dims := x.Shape().Dimensions
	channels := dims[len(dims)-1]
	axes := make([]int, x.Rank()-1) // every axis but the channels
	n := 1
	for i := range axes {
		axes[i] = i
		n *= dims[i]
	}
	broadcastDims := make([]int, x.Rank()) // [1, ..., 1, C]
	for i := range broadcastDims {
		broadcastDims[i] = 1
	}
	broadcastDims[len(dims)-1] = channels
	perChannel := func(v *graph.Node) *graph.Node { return graph.Reshape(v, broadcastDims...) }

	runningMean := constantVariable(b.scope, "running_mean", dtype, channels, 0).SetTrainable(false)
	runningVar := constantVariable(b.scope, "running_var", dtype, channels, 1).SetTrainable(false)

	var mean, variance *graph.Node
	if !b.scope.IsTraining(g) && usesBatchStatistics(b.scope, g) {
		// Inference with the statistics of the batch itself, leaving the running ones untouched.
		mean = graph.ReduceAndKeep(x, graph.ReduceMean, axes...)
		variance = graph.ReduceAndKeep(graph.Square(graph.Sub(x, mean)), graph.ReduceMean, axes...)
	} else if b.scope.IsTraining(g) {
		if n <= 1 {
			exceptions.Panicf("nn.BatchNorm: expected more than 1 value per channel when training, got input shape %s", x.Shape())
		}
		mean = graph.ReduceAndKeep(x, graph.ReduceMean, axes...)
		variance = graph.ReduceAndKeep(graph.Square(graph.Sub(x, mean)), graph.ReduceMean, axes...)

		// Running statistics: no gradient flows into them.
		batchMean := graph.Reshape(graph.StopGradient(mean), channels)
		unbiased := graph.MulScalar(graph.Reshape(graph.StopGradient(variance), channels), float64(n)/float64(n-1))
		keep := 1 - b.momentum
		runningMean.SetNodeValue(graph.Add(graph.MulScalar(runningMean.NodeValue(g), keep), graph.MulScalar(batchMean, b.momentum)))
		runningVar.SetNodeValue(graph.Add(graph.MulScalar(runningVar.NodeValue(g), keep), graph.MulScalar(unbiased, b.momentum)))
	} else {
		mean = perChannel(runningMean.NodeValue(g))
		variance = perChannel(runningVar.NodeValue(g))
	}
	// graph.Rsqrt has no gradient in GoMLX v0.28.8: divide by Sqrt instead.
	y := graph.Div(graph.Sub(x, mean), graph.Sqrt(graph.AddScalar(variance, b.epsilon)))
	if !b.noAffine {
		scale := normScaleVariable(b.scope, "scale", dtype, channels).NodeValue(g)
		offset := constantVariable(b.scope, "offset", dtype, channels, 0).NodeValue(g)
		y = graph.Add(graph.Mul(y, perChannel(scale)), perChannel(offset))
	}
	return y
}

// batchStatisticsParam is the graph parameter set by UseBatchStatistics.
const batchStatisticsParam = "advlab_nn_batch_statistics"

// UseBatchStatistics makes every BatchNorm of the inference graph g normalise with the statistics
// of the batch it is given instead of the running statistics, without updating the latter. This is
// how pytorch/examples' DCGAN produces its sample grids (its generator stays in train mode), and
// it is the better choice while the running statistics lag behind a generator that is still
// changing fast (Keras' momentum 0.99 averages over about 100 steps). Training graphs always use
// batch statistics and are not affected.
func UseBatchStatistics(scope *model.Scope, g *graph.Graph) {
	scope.SetGraphParam(g, batchStatisticsParam, true)
}

func usesBatchStatistics(scope *model.Scope, g *graph.Graph) bool {
	return model.GetGraphParamOr(scope, g, batchStatisticsParam, false)
}
