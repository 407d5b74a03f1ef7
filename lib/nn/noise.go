package nn

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// GaussianNoise adds independent N(0, sigma²) noise to every element of x in training graphs
// (scope.IsTraining(g)) and returns x unchanged in other graphs (evaluation):
//
//	y = x + sigma·ε,  ε ~ N(0, I)   (training)        y = x   (evaluation)
//
// It is the GaussianNoiseLayer of openai/improved-gan (Salimans et al. 2016, whose MNIST
// discriminator puts σ = 0.3 on its input and σ = 0.5 before every hidden layer) and Keras'
// GaussianNoise. The draw comes from the store's random state, so it differs at every execution
// and at every application of the layer, and a seeded store repeats it. The gradient with respect
// to x is the identity. It creates no variables (scope only provides the random state).
func GaussianNoise(scope *model.Scope, x *graph.Node, sigma float64) *graph.Node {
	if sigma < 0 {
		exceptions.Panicf("nn.GaussianNoise: sigma must be >= 0, got %g", sigma)
	}
	if sigma == 0 || !scope.IsTraining(x.Graph()) {
		return x
	}
	return graph.Add(x, graph.MulScalar(RandomNormal(scope, x.Graph(), x.Shape()), sigma))
}

// RandomNormal draws independent N(0, 1) values of the given float shape from the scope's random
// state, with both outputs of each Box-Muller pair: for u1, u2 ~ U(0, 1), r = √(−2 ln u1) and
// θ = 2π·u2 give r·cos θ and r·sin θ, two independent standard normals. GoMLX's RandomNormal keeps
// only the cosine, so it draws twice the random bits and takes twice the logarithms and square
// roots; here sin θ = ±√(1 − cos²θ) (positive for u2 ≤ ½) also spares the second trigonometric
// function, which on the pure-Go backend is the most expensive element-wise op. The tail of an odd
// count is cut off.
func RandomNormal(scope *model.Scope, g *graph.Graph, shape shapes.Shape) *graph.Node {
	if !shape.DType.IsFloat() {
		exceptions.Panicf("nn.RandomNormal: want a float shape, got %s", shape)
	}
	n := shape.Size()
	pairs := shapes.Make(shape.DType, (n+1)/2)
	values := BoxMuller(scope.RandomUniform(g, pairs), scope.RandomUniform(g, pairs))
	if 2*pairs.Size() != n {
		values = graph.Slice(values, graph.AxisRange(0, n))
	}
	return graph.StopGradient(graph.Reshape(values, shape.Dimensions...))
}

// BoxMuller turns uniform draws u1, u2 of one shape [P] into 2P standard normals, the cosines then
// the sines: r·cos θ and r·sin θ for r = √(−2 ln u1), θ = 2π·u2 (see RandomNormal). A uniform draw
// of exactly 0, which GoMLX's generator gives once in 2³² draws (so within some thousands of steps
// of a training that draws a million noise values a step), is raised to the smallest normal number
// of the dtype, whose logarithm is finite (r at most 13.2 in float32). Not the smallest non-zero
// one: that one is denormal, XLA's CPU compiler flushes denormals to zero, and ln 0 = −∞ gave an
// infinite noise value and a NaN loss.
func BoxMuller(u1, u2 *graph.Node) *graph.Node {
	dtype := u1.DType()
	g := u1.Graph()
	u1 = graph.Max(u1, graph.Scalar(g, dtype, smallestNormal(dtype)))
	r := graph.Sqrt(graph.MulScalar(graph.Log(u1), -2))
	cos := graph.Cos(graph.MulScalar(u2, 2*math.Pi))
	sin := graph.Sqrt(graph.Max(graph.OneMinus(graph.Square(cos)), graph.ZerosLike(cos)))
	sin = graph.Where(graph.LessOrEqual(u2, graph.Scalar(g, dtype, 0.5)), sin, graph.Neg(sin))
	return graph.Concatenate([]*graph.Node{graph.Mul(r, cos), graph.Mul(r, sin)}, 0)
}

// smallestNormal is the smallest positive normal (not denormal) number of a float dtype.
func smallestNormal(dtype dtypes.DType) float64 {
	switch dtype {
	case dtypes.Float64:
		return 0x1p-1022
	case dtypes.Float16:
		return 0x1p-14
	case dtypes.Float32, dtypes.BFloat16:
		return 0x1p-126
	}
	exceptions.Panicf("nn.BoxMuller: want a float dtype, got %s", dtype)
	return 0
}
