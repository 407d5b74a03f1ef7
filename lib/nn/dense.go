package nn

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Dense is a fully connected layer with a bias: y = x·W + b, applied to the last axis of x.
//
// It is PyTorch's nn.Linear(in_features, outputs) and Keras' Dense(outputs). x has shape
// [..., in]; the result has shape [..., outputs]. The variables are created directly in scope
// (give each layer its own sub-scope, e.g. scope.In("fc1")):
//
//   - "weights" [in, outputs] (PyTorch's weight transposed),
//   - "biases" [outputs].
//
// They are initialised as chosen by SetInit (PyTorch's default unless set otherwise).
func Dense(scope *model.Scope, x *graph.Node, outputs int) *graph.Node {
	return dense(scope, x, outputs, true)
}

// DenseNoBias is Dense without the bias term, y = x·W: PyTorch's nn.Linear(in, outputs, bias=False)
// and Keras' Dense(outputs, use_bias=False). It creates only the "weights" variable [in, outputs].
func DenseNoBias(scope *model.Scope, x *graph.Node, outputs int) *graph.Node {
	return dense(scope, x, outputs, false)
}

func dense(scope *model.Scope, x *graph.Node, outputs int, withBias bool) *graph.Node {
	if x.Rank() < 1 {
		exceptions.Panicf("nn.Dense: input must have rank >= 1, got shape %s", x.Shape())
	}
	if outputs <= 0 {
		exceptions.Panicf("nn.Dense: outputs must be positive, got %d", outputs)
	}
	dims := x.Shape().Dimensions
	inputs := dims[len(dims)-1]
	weights := weightVariable(scope, "weights", x.DType(), []int{inputs, outputs}, inputs, outputs).NodeValue(x.Graph())
	flat := graph.Reshape(x, -1, inputs)
	y := graph.Dot(flat, weights).Product()
	if withBias {
		biases := biasVariable(scope, "biases", x.DType(), outputs, inputs).NodeValue(x.Graph())
		y = graph.Add(y, graph.Reshape(biases, 1, outputs))
	}
	outDims := append(append([]int{}, dims[:len(dims)-1]...), outputs)
	return graph.Reshape(y, outDims...)
}
