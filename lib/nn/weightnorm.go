package nn

import (
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// dataInitParam is the graph parameter that marks a data-dependent initialisation graph.
const dataInitParam = "advlab_nn_data_init"

// SetDataInit marks g as a data-dependent initialisation graph (Salimans & Kingma 2016, §3,
// "Data-Dependent Initialization of Parameters"): in it, every weight-normalised layer of this
// package computes its pre-activations t on the batch with its current weights, and sets its scale
// and bias so that they have mean 0 and variance 1 over the batch:
//
//	μ[t], σ[t] over the batch,   g ← g/σ[t],   b ← −μ[t]/σ[t],   output (t − μ[t])/σ[t]
//
// Layers are initialised in order, each on the normalised output of the layers below, as
// openai/improved-gan does with init=True (on 500 training images for MNIST). Run such a graph once,
// before training, on a batch of real data; the new values are stored after its execution (like
// BatchNorm's running statistics).
func SetDataInit(scope *model.Scope, g *graph.Graph) {
	scope.Store().RootScope().SetGraphParam(g, dataInitParam, true)
}

// IsDataInit reports whether g was marked by SetDataInit.
func IsDataInit(scope *model.Scope, g *graph.Graph) bool {
	return model.GetGraphParamOr(scope, g, dataInitParam, false)
}

// WeightNormDenseBuilder configures a weight-normalised dense layer created by WeightNormDense; call
// Done to build it.
type WeightNormDenseBuilder struct {
	scope      *model.Scope
	x          *graph.Node
	outputs    int
	noBias     bool
	fixedScale bool
	stddev     float64 // > 0: v ~ N(0, stddev²) instead of SetInit's choice
}

// WeightNormDense starts building a dense layer with weight normalisation (Salimans & Kingma 2016,
// eq. 2): each output unit's weight vector is reparameterised by a direction v and a length g,
//
//	w = g · v / ‖v‖,   y = x·w + b
//
// so that the gradient with respect to the length and the direction are decoupled. It is
// PyTorch's torch.nn.utils.weight_norm(nn.Linear(in, outputs)) (dim=0: one g per output unit) and
// openai/improved-gan's nn.DenseLayer (train_scale=True) and l2normalize. x has shape [..., in];
// the result has shape [..., outputs].
//
// Variables, created directly in scope: "weights_v" v [in, outputs] (PyTorch's weight_v
// transposed; initialised as SetInit chooses for a dense layer), "weights_g" g [outputs]
// (PyTorch's weight_g; initialised to 1, as Salimans & Kingma and the reference code do, so that
// every unit starts with a unit-length weight vector; PyTorch instead starts at g = ‖v‖) and
// "biases" b [outputs] (initialised to 0). In a graph marked by SetDataInit, g and b are set from
// the batch (see SetDataInit).
//
// Example, a hidden layer of the Improved-GAN MNIST discriminator:
//
//	x = nn.WeightNormDense(scope.In("fc1"), x, 1000).FixedScale().Done()
func WeightNormDense(scope *model.Scope, x *graph.Node, outputs int) *WeightNormDenseBuilder {
	return &WeightNormDenseBuilder{scope: scope, x: x, outputs: outputs}
}

// NoBias removes the bias term b.
func (b *WeightNormDenseBuilder) NoBias() *WeightNormDenseBuilder {
	b.noBias = true
	return b
}

// InitStddev draws the direction v from N(0, stddev²) instead of the scope's SetInit choice. With
// weight normalisation the length of v does not change the layer's output, but it sets how fast
// Adam turns the direction: a step moves each element of v by about the learning rate, so a
// shorter v turns faster. openai/improved-gan draws v from N(0, 0.1²) in its MNIST discriminator
// (nn.DenseLayer) and from N(0, 0.05²) in its other weight-normalised layers.
func (b *WeightNormDenseBuilder) InitStddev(stddev float64) *WeightNormDenseBuilder {
	if stddev <= 0 {
		exceptions.Panicf("nn.WeightNormDense: InitStddev must be positive, got %g", stddev)
	}
	b.stddev = stddev
	return b
}

// FixedScale makes the length g non-trainable: the optimizers leave it at its initial (or
// data-dependent) value and only the direction v learns its length implicitly through the
// normalisation. openai/improved-gan's MNIST discriminator uses this (train_scale=False) for every
// hidden layer and a trainable scale for the output layer.
func (b *WeightNormDenseBuilder) FixedScale() *WeightNormDenseBuilder {
	b.fixedScale = true
	return b
}

// Done creates the variables and returns x·w + b with the shape [..., outputs].
func (b *WeightNormDenseBuilder) Done() *graph.Node {
	x := b.x
	if x.Rank() < 1 {
		exceptions.Panicf("nn.WeightNormDense: input must have rank >= 1, got shape %s", x.Shape())
	}
	if b.outputs <= 0 {
		exceptions.Panicf("nn.WeightNormDense: outputs must be positive, got %d", b.outputs)
	}
	g := x.Graph()
	dtype := x.DType()
	dims := x.Shape().Dimensions
	inputs := dims[len(dims)-1]
	var vVar *model.Variable
	if b.stddev > 0 {
		vVar = b.scope.WithInitializer(normalInit(b.scope, 0, b.stddev)).
			VariableWithShape("weights_v", shapes.Make(dtype, inputs, b.outputs))
	} else {
		vVar = weightVariable(b.scope, "weights_v", dtype, []int{inputs, b.outputs}, inputs, b.outputs)
	}
	v := vVar.NodeValue(g)
	scaleVar := constantVariable(b.scope, "weights_g", dtype, b.outputs, 1)
	if b.fixedScale {
		scaleVar.SetTrainable(false)
	}
	scale := scaleVar.NodeValue(g)
	// w = g·v/‖v‖, ‖v‖ per output unit (a column of v). Built from Sqrt (graph.Rsqrt has no gradient).
	norm := graph.Sqrt(graph.ReduceSum(graph.Square(v), 0))                // [outputs]
	w := graph.Mul(v, graph.Reshape(graph.Div(scale, norm), 1, b.outputs)) // [in, outputs]
	flat := graph.Reshape(x, -1, inputs)                                   // [N, in]
	y := graph.Dot(flat, w).Product()                                      // [N, outputs]
	outDims := append(append([]int{}, dims[:len(dims)-1]...), b.outputs)   // [..., outputs]
	var biasVar *model.Variable
	if !b.noBias {
		biasVar = constantVariable(b.scope, "biases", dtype, b.outputs, 0)
	}

	if IsDataInit(b.scope, g) {
		// Data-dependent initialisation: normalise the pre-activations over the batch and fold the
		// normalisation into g and b.
		mean := graph.ReduceMean(y, 0)                                                        // [outputs]
		centred := graph.Sub(y, graph.Reshape(mean, 1, b.outputs))                            // [N, outputs]
		std := graph.Sqrt(graph.AddScalar(graph.ReduceMean(graph.Square(centred), 0), 1e-10)) // [outputs]
		scaleVar.SetNodeValue(graph.StopGradient(graph.Div(scale, std)))
		if b.noBias {
			return graph.Reshape(graph.Div(y, graph.Reshape(std, 1, b.outputs)), outDims...)
		}
		biasVar.SetNodeValue(graph.StopGradient(graph.Neg(graph.Div(mean, std))))
		return graph.Reshape(graph.Div(centred, graph.Reshape(std, 1, b.outputs)), outDims...)
	}
	if !b.noBias {
		y = graph.Add(y, graph.Reshape(biasVar.NodeValue(g), 1, b.outputs))
	}
	return graph.Reshape(y, outDims...)
}
