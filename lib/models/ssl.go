package models

import (
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/nn"
)

// Semi-supervised GANs (lib/ssl) use the GAN type with a K-logit discriminator: its logits are
// [B, K] (one per class) instead of [B, 1], and its features are the layer that feature matching
// compares.

// ImprovedGANMNIST is the semi-supervised MNIST model of openai/improved-gan
// (train_mnist_feature_matching.py; Salimans et al. 2016, §5.1), on 28x28x1 images in [0, 1] with
// z ~ U(0, 1)^100:
//
// Discriminator (all dense layers weight-normalised, Salimans & Kingma 2016, with directions drawn
// from N(0, 0.1²) as the reference's, which sets how fast Adam turns them; the hidden layers'
// scales are not trained, only set by the data-dependent initialisation; the output layer's scale
// is trained): GaussianNoise σ0.3 → Dense 1000 → ReLU → [GaussianNoise σ0.5 → Dense → ReLU] for 500,
// 250, 250, 250 → GaussianNoise σ0.5 → Dense 10. Its features (for feature matching) are the last
// 250-unit hidden layer, the reference's layers[-3].
//
// Generator (Keras/Lasagne Glorot-uniform weights): Dense 500 (no bias) → BatchNorm without gain
// (a learned offset only, ε 1e-6) → softplus → the same again → weight-normalised Dense 784 with
// trainable scale → sigmoid.
func ImprovedGANMNIST() GAN {
	relu := func(x *graph.Node) *graph.Node { return graph.Max(x, graph.ZerosLike(x)) }
	disc := func(scope *model.Scope, images *graph.Node) (*graph.Node, *graph.Node) {
		x := graph.Reshape(images, images.Shape().Dimensions[0], 28*28) // [B, 784]
		x = nn.GaussianNoise(scope.In("noise0"), x, 0.3)                // [B, 784]
		var features *graph.Node
		for i, width := range []int{1000, 500, 250, 250, 250} {
			if i > 0 {
				x = nn.GaussianNoise(scope.In("noise%d", i), x, 0.5) // [B, previous width]
			}
			x = relu(nn.WeightNormDense(scope.In("fc%d", i+1), x, width).InitStddev(0.1).FixedScale().Done()) // [B, width]
			features = x
		}
		x = nn.GaussianNoise(scope.In("noise5"), x, 0.5)                                   // [B, 250]
		return nn.WeightNormDense(scope.In("out"), x, 10).InitStddev(0.1).Done(), features // logits [B, 10], features [B, 250]
	}
	gen := func(scope *model.Scope, z *graph.Node) *graph.Node {
		nn.SetInit(scope, nn.InitKeras)
		x := z // [B, 100]
		for i := 1; i <= 2; i++ {
			x = nn.DenseNoBias(scope.In("fc%d", i), x, 500)              // [B, 500]
			x = nn.Softplus(batchNormOffsetOnly(scope.In("bn%d", i), x)) // [B, 500]
		}
		x = graph.Sigmoid(nn.WeightNormDense(scope.In("out"), x, 28*28).Done()) // [B, 784] in (0, 1)
		return graph.Reshape(x, -1, 28, 28, 1)                                  // [B, 28, 28, 1]
	}
	return GAN{Name: "improved-gan-mnist", Generator: gen, Discriminator: disc, LatentDim: 100,
		Height: 28, Width: 28, Channels: 1}
}

// batchNormOffsetOnly is openai/improved-gan's nn.batch_norm(..., g=None): batch normalisation
// (ε 1e-6, running statistics with momentum 0.1) followed by a learned offset β and no gain.
// Variables: "running_mean", "running_var" and "offset" [C] (0).
func batchNormOffsetOnly(scope *model.Scope, x *graph.Node) *graph.Node {
	channels := x.Shape().Dimensions[x.Rank()-1]
	y := nn.BatchNorm(scope, x).Epsilon(1e-6).NoAffine().Done()
	offset := scope.WithInitializer(func(g *graph.Graph, s shapes.Shape) *graph.Node {
		return graph.Zeros(g, s)
	}).VariableWithShape("offset", shapes.Make(x.DType(), channels)).NodeValue(x.Graph())
	return graph.Add(y, graph.Reshape(offset, 1, channels))
}

// SSLConv28 is a small convolutional semi-supervised GAN for 28x28x1 images in [-1, 1]: the
// TensorFlow tutorial's DCGAN-28 generator (DCGAN28Tutorial, tanh output) against a K = 10 logit
// discriminator GaussianNoise σ0.3 → Conv 32 5x5 stride 2 same → LeakyReLU 0.2 → GaussianNoise σ0.5
// → Conv 64 5x5 stride 2 same → LeakyReLU 0.2 → Dropout 0.5 → Dense 128 → LeakyReLU 0.2 (the
// features) → Dense 10, with Keras initialisation.
func SSLConv28() GAN {
	disc := func(scope *model.Scope, images *graph.Node) (*graph.Node, *graph.Node) {
		nn.SetInit(scope, nn.InitKeras)
		x := nn.GaussianNoise(scope.In("noise0"), images, 0.3)                    // [B, 28, 28, 1]
		x = nn.Conv2D(scope.In("conv1"), x, 32, 5).Stride(2).PaddingSame().Done() // [B, 14, 14, 32]
		x = nn.LeakyReLU(x, 0.2)
		x = nn.GaussianNoise(scope.In("noise1"), x, 0.5)                          // [B, 14, 14, 32]
		x = nn.Conv2D(scope.In("conv2"), x, 64, 5).Stride(2).PaddingSame().Done() // [B, 7, 7, 64]
		x = nn.LeakyReLU(x, 0.2)
		x = graph.Reshape(x, x.Shape().Dimensions[0], -1) // [B, 3136]
		x = layers.DropoutStatic(scope.In("dropout"), x, 0.5)
		features := nn.LeakyReLU(nn.Dense(scope.In("fc"), x, 128), 0.2) // [B, 128]
		return nn.Dense(scope.In("out"), features, 10), features        // logits [B, 10], features [B, 128]
	}
	return GAN{Name: "ssl-conv28", Generator: DCGAN28(DCGAN28Tutorial).Generator, Discriminator: disc,
		LatentDim: 100, Height: 28, Width: 28, Channels: 1}
}
