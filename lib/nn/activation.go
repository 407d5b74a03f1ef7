package nn

import (
	"github.com/gomlx/gomlx/core/graph"
)

// LeakyReLU returns x where x > 0 and slope·x elsewhere, element-wise, with any shape.
// It is PyTorch's nn.LeakyReLU(negative_slope=slope) (DCGAN uses 0.2; Keras' default is 0.3),
// including its gradient: 1 where x > 0 and slope where x ≤ 0.
func LeakyReLU(x *graph.Node, slope float64) *graph.Node {
	zero := graph.ScalarZero(x.Graph(), x.DType())
	return graph.Where(graph.GreaterThan(x, zero), x, graph.MulScalar(x, slope))
}

// Softplus is log(1 + exp(x)), PyTorch's nn.Softplus(), computed as max(x, 0) + log1p(exp(−|x|)):
// stable for any finite x, and built only from ops every backend implements (GoMLX's own
// graph.Softplus guards with IsFinite, which ONNX Runtime lacks).
func Softplus(x *graph.Node) *graph.Node {
	return graph.Add(graph.Max(x, graph.ZerosLike(x)), graph.Log1p(graph.Exp(graph.Neg(graph.Abs(x)))))
}
