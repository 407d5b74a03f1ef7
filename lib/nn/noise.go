package nn

import (
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
	return graph.Add(x, graph.MulScalar(scope.RandomNormal(x.Graph(), x.Shape()), sigma))
}
