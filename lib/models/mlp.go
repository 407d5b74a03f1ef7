package models

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/nn"
)

// MLPConfig describes a fully connected GAN on flattened images.
type MLPConfig struct {
	// GeneratorHidden and DiscriminatorHidden are the hidden layer widths, input side first.
	GeneratorHidden, DiscriminatorHidden []int
	// LeakySlope is the negative slope of the hidden activations; 0 means ReLU.
	LeakySlope float64
	// TanhOutput puts a tanh on the generator's output (images in [-1, 1]); without it the output
	// is linear, as in the blog's Keras code.
	TanhOutput bool
	// Init is the initialisation of every layer.
	Init nn.Init
}

// MLPSeed000 is the Keras MLP GAN of the "active learning in GANs" article: G dense
// 100→128→128→1024→784 with ReLU, D dense 784→128→128→1 with ReLU. The article's generator has
// a linear output; advlab adds tanh so its samples live in the data's range [-1, 1] (a linear
// output trained against [-1, 1] data drifts outside it and the sample grid saturates).
var MLPSeed000 = MLPConfig{
	GeneratorHidden: []int{128, 128, 1024}, DiscriminatorHidden: []int{128, 128},
	TanhOutput: true, Init: nn.InitKeras,
}

// MLPLabml is labml's annotated vanilla GAN: G 100→256→512→1024→784 (LeakyReLU 0.2, tanh
// output), D 784→1024→512→256→1 (LeakyReLU 0.2), weights N(0, 0.02).
var MLPLabml = MLPConfig{
	GeneratorHidden: []int{256, 512, 1024}, DiscriminatorHidden: []int{1024, 512, 256},
	LeakySlope: 0.2, TanhOutput: true, Init: nn.InitDCGAN,
}

func (c MLPConfig) activate(x *graph.Node) *graph.Node {
	if c.LeakySlope == 0 {
		return graph.Max(x, graph.ZerosLike(x))
	}
	return nn.LeakyReLU(x, c.LeakySlope)
}

// MLP returns the fully connected GAN for images of the given shape with latent size 100.
func MLP(c MLPConfig, height, width, channels int) GAN {
	pixels := height * width * channels
	gen := func(scope *model.Scope, z *graph.Node) *graph.Node {
		nn.SetInit(scope, c.Init)
		x := z // [B, 100]
		for i, width := range c.GeneratorHidden {
			x = c.activate(nn.Dense(scope.In("fc%d", i+1), x, width)) // [B, width]
		}
		x = nn.Dense(scope.In("out"), x, pixels) // [B, H·W·C]
		if c.TanhOutput {
			x = graph.Tanh(x)
		}
		return graph.Reshape(x, -1, height, width, channels) // [B, H, W, C]
	}
	disc := func(scope *model.Scope, images *graph.Node) (*graph.Node, *graph.Node) {
		nn.SetInit(scope, c.Init)
		x := graph.Reshape(images, images.Shape().Dimensions[0], pixels) // [B, H·W·C]
		for i, width := range c.DiscriminatorHidden {
			x = c.activate(nn.Dense(scope.In("fc%d", i+1), x, width)) // [B, width]
		}
		return nn.Dense(scope.In("out"), x, 1), x // logits [B, 1], features [B, last hidden]
	}
	return GAN{Name: "mlp", Generator: gen, Discriminator: disc, LatentDim: 100,
		Height: height, Width: width, Channels: channels}
}
