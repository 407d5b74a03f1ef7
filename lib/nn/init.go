package nn

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Init names a family of initial weights for the layers of this package. It is chosen per scope with
// SetInit and inherited by every sub-scope, so one call configures a whole network.
type Init int

const (
	// InitPyTorch reproduces PyTorch's default initialisation (the default when SetInit was never
	// called): weights of nn.Linear, nn.Conv2d and nn.ConvTranspose2d are drawn by
	// kaiming_uniform_(a=√5), which is U(−1/√fanIn, 1/√fanIn); biases are U(−1/√fanIn, 1/√fanIn);
	// BatchNorm scale 1 and offset 0. fanIn is in_features for Linear, cin·kh·kw for Conv2d and
	// cout·kh·kw for ConvTranspose2d (PyTorch computes it from the weight's second axis).
	InitPyTorch Init = iota

	// InitDCGAN is the `weights_init` of pytorch/examples/dcgan (Radford et al. 2015, §4):
	// convolution, transposed-convolution and dense weights N(0, 0.02); BatchNorm scale N(1, 0.02)
	// and offset 0. Biases keep PyTorch's default U(−1/√fanIn, 1/√fanIn), as weights_init leaves
	// them untouched (the DCGAN networks have no biases anyway).
	InitDCGAN

	// InitKeras reproduces Keras' defaults, used by the TensorFlow tutorials: glorot_uniform weights
	// U(−√(6/(fanIn+fanOut)), +√(6/(fanIn+fanOut))) with fanIn = kh·kw·cin and fanOut = kh·kw·cout,
	// zero biases, BatchNorm scale 1 and offset 0.
	InitKeras
)

// String returns the name of the initialisation.
func (i Init) String() string {
	switch i {
	case InitPyTorch:
		return "pytorch"
	case InitDCGAN:
		return "dcgan"
	case InitKeras:
		return "keras"
	}
	return fmt.Sprintf("Init(%d)", int(i))
}

// initParam is the scope parameter that holds the Init of a scope.
const initParam = "advlab_nn_init"

// SetInit makes every layer of this package created under scope (and its sub-scopes) use init for
// the variables it creates. Variables that already have a value (loaded from a checkpoint or set
// explicitly) are never re-initialised.
//
// Example, the DCGAN generator of pytorch/examples:
//
//	nn.SetInit(store.Scope("/generator"), nn.InitDCGAN)
func SetInit(scope *model.Scope, init Init) {
	scope.SetParam(initParam, init)
}

// InitOf returns the Init in force for scope: the one set by SetInit on it or its nearest parent,
// else InitPyTorch.
func InitOf(scope *model.Scope) Init {
	return model.GetParamOr(scope, initParam, InitPyTorch)
}

// dcganStddev is the standard deviation of the DCGAN initialisation.
const dcganStddev = 0.02

// uniformInit returns an initializer drawing U(−bound, bound) from the store's random state.
func uniformInit(scope *model.Scope, bound float64) model.VariableInitializer {
	return func(g *graph.Graph, shape shapes.Shape) *graph.Node {
		u := scope.RandomUniform(g, shape) // U[0, 1)
		return graph.AddScalar(graph.MulScalar(u, 2*bound), -bound)
	}
}

// normalInit returns an initializer drawing N(mean, stddev²) from the store's random state.
func normalInit(scope *model.Scope, mean, stddev float64) model.VariableInitializer {
	return func(g *graph.Graph, shape shapes.Shape) *graph.Node {
		return graph.AddScalar(graph.MulScalar(scope.RandomNormal(g, shape), stddev), mean)
	}
}

// constantInit returns an initializer filling the variable with value.
func constantInit(value float64) model.VariableInitializer {
	return func(g *graph.Graph, shape shapes.Shape) *graph.Node {
		return graph.BroadcastToShape(graph.Scalar(g, shape.DType, value), shape)
	}
}

// weightVariable creates (or reuses) the weight variable name of a layer under scope, initialised
// according to InitOf(scope). fanIn and fanOut are the PyTorch/Keras fans of the layer.
func weightVariable(scope *model.Scope, name string, dtype dtypes.DType, dims []int, fanIn, fanOut int) *model.Variable {
	var init model.VariableInitializer
	switch InitOf(scope) {
	case InitDCGAN:
		init = normalInit(scope, 0, dcganStddev)
	case InitKeras:
		init = uniformInit(scope, math.Sqrt(6/float64(max(fanIn+fanOut, 1))))
	default:
		init = uniformInit(scope, 1/math.Sqrt(float64(max(fanIn, 1))))
	}
	return scope.WithInitializer(init).VariableWithShape(name, shapes.Make(dtype, dims...))
}

// biasVariable creates (or reuses) the bias variable name of a layer under scope.
func biasVariable(scope *model.Scope, name string, dtype dtypes.DType, size, fanIn int) *model.Variable {
	var init model.VariableInitializer
	if InitOf(scope) == InitKeras {
		init = constantInit(0)
	} else {
		init = uniformInit(scope, 1/math.Sqrt(float64(max(fanIn, 1))))
	}
	return scope.WithInitializer(init).VariableWithShape(name, shapes.Make(dtype, size))
}

// normScaleVariable creates (or reuses) the scale (γ) variable of a normalisation layer.
func normScaleVariable(scope *model.Scope, name string, dtype dtypes.DType, size int) *model.Variable {
	init := constantInit(1)
	if InitOf(scope) == InitDCGAN {
		init = normalInit(scope, 1, dcganStddev)
	}
	return scope.WithInitializer(init).VariableWithShape(name, shapes.Make(dtype, size))
}

// constantVariable creates (or reuses) a variable filled with value. The value is set when the
// variable is created, not by a deferred initializer, so that inference graphs on backends that
// embed non-trainable variables as constants (ONNX Runtime) can read it before any training.
func constantVariable(scope *model.Scope, name string, dtype dtypes.DType, size int, value float64) *model.Variable {
	switch dtype {
	case dtypes.Float32:
		values := make([]float32, size)
		for i := range values {
			values[i] = float32(value)
		}
		return scope.VariableWithValue(name, tensors.FromFlatDataAndDimensions(values, size))
	case dtypes.Float64:
		values := make([]float64, size)
		for i := range values {
			values[i] = value
		}
		return scope.VariableWithValue(name, tensors.FromFlatDataAndDimensions(values, size))
	}
	return scope.WithInitializer(constantInit(value)).VariableWithShape(name, shapes.Make(dtype, size))
}
