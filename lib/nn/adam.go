package nn

import (
	"fmt"
	"path"

	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// ReferenceAdamScope is the root under which ReferenceAdam keeps its step counters and moments:
// ReferenceAdamScope + the variable's scope, with names "<variable>_m1" and "<variable>_m2".
const ReferenceAdamScope = "/ReferenceAdam"

// ReferenceAdam returns Adam as openai/improved-gan's nn.adam_updates writes it: with the
// gradient g and step t counted from 1,
//
//	m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²,   θ ← θ − lr · (m/(1−β1ᵗ)) / √(v/(1−β2ᵗ) + ε)
//
// ε sits inside the square root (the reference's 1e-8), where GoMLX's and PyTorch's Adam add it
// outside, √v̂ + ε: the denominator never falls below √ε = 1e-4, so a parameter whose gradients are
// far below 1e-4 moves by lr·g/1e-4 rather than by about lr. The learning rate is the scope's usual
// variable (optimizer.LearningRateVar), so it can be changed between steps as with GoMLX's Adam.
func ReferenceAdam(learningRate, beta1, beta2, epsilon float64) optimizer.Interface {
	return &referenceAdam{lr: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon}
}

type referenceAdam struct{ lr, beta1, beta2, epsilon float64 }

// UpdateGraph adds to g the update of every trainable variable of scope that g uses.
func (o *referenceAdam) UpdateGraph(scope *model.Scope, g *graph.Graph, loss *graph.Node) {
	if !loss.Shape().IsScalar() {
		exceptions.Panicf("nn.ReferenceAdam: the loss must be a scalar, got %s", loss.Shape())
	}
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	dtype := loss.DType()
	lr := optimizer.LearningRateVar(scope, dtype, o.lr).NodeValue(g)
	state := scope.Store().Scope(path.Join(ReferenceAdamScope, scope.Scope()))
	t := optimizer.IncrementCounter(state, g, "step", dtype)
	beta1 := graph.Scalar(g, dtype, o.beta1)
	beta2 := graph.Scalar(g, dtype, o.beta2)
	debias1 := graph.Reciprocal(graph.OneMinus(graph.Pow(beta1, t)))
	debias2 := graph.Reciprocal(graph.OneMinus(graph.Pow(beta2, t)))
	i := 0
	for v := range scope.IterVariables() {
		if !v.Trainable || !v.InUseByGraph(g) {
			continue
		}
		if i >= len(grads) {
			exceptions.Panicf("nn.ReferenceAdam: more trainable variables than the %d gradients", len(grads))
		}
		grad := grads[i]
		i++
		if grad.DType() != dtype {
			grad = graph.ConvertDType(grad, dtype)
		}
		moments := scope.Store().Scope(path.Join(ReferenceAdamScope, v.Scope()))
		shape := shapes.Make(dtype, v.Shape().Dimensions...)
		m1Var := moments.WithInitializer(zerosInit).VariableWithShape(fmt.Sprintf("%s_m1", v.Name()), shape).SetTrainable(false)
		m2Var := moments.WithInitializer(zerosInit).VariableWithShape(fmt.Sprintf("%s_m2", v.Name()), shape).SetTrainable(false)
		m1 := graph.Add(graph.MulScalar(m1Var.NodeValue(g), o.beta1), graph.MulScalar(grad, 1-o.beta1))
		m2 := graph.Add(graph.MulScalar(m2Var.NodeValue(g), o.beta2), graph.MulScalar(graph.Square(grad), 1-o.beta2))
		m1Var.SetNodeValue(m1)
		m2Var.SetNodeValue(m2)
		denominator := graph.Sqrt(graph.AddScalar(graph.Mul(m2, debias2), o.epsilon))
		step := graph.Div(graph.Mul(lr, graph.Mul(m1, debias1)), denominator)
		value := v.NodeValue(g)
		if value.DType() != dtype {
			step = graph.ConvertDType(step, value.DType())
		}
		v.SetNodeValue(graph.Sub(value, step))
	}
	if i != len(grads) {
		exceptions.Panicf("nn.ReferenceAdam: %d gradients for %d trainable variables in use", len(grads), i)
	}
}

// Clear deletes the optimizer's state under scope (its step counter and moments).
func (o *referenceAdam) Clear(scope *model.Scope) error {
	return scope.Store().DeleteVariablesInScope(path.Join(ReferenceAdamScope, scope.Scope()))
}

func zerosInit(g *graph.Graph, s shapes.Shape) *graph.Node { return graph.Zeros(g, s) }
