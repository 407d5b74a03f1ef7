package models

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/nn"
)

// DCGAN28Config parameterises the TensorFlow DCGAN tutorial's networks for 28x28x1 images.
type DCGAN28Config struct {
	// Width scales every layer's channels: 1 is the tutorial (256, 128, 64 in G; 64, 128 in D).
	// Parity tests use a fraction to keep fixtures small.
	Width float64
	// LeakySlope is Keras' LeakyReLU default, 0.3.
	LeakySlope float64
	// Dropout is the discriminator's dropout rate after each convolution (0.3; 0 disables).
	Dropout float64
	// BNMomentum and BNEpsilon are Keras' BatchNormalization defaults expressed as PyTorch's:
	// momentum 1 − 0.99 = 0.01, eps 1e-3.
	BNMomentum, BNEpsilon float64
}

// DCGAN28Tutorial is the configuration of the TensorFlow DCGAN tutorial.
var DCGAN28Tutorial = DCGAN28Config{Width: 1, LeakySlope: 0.3, Dropout: 0.3, BNMomentum: 0.01, BNEpsilon: 1e-3}

func scaled(channels int, width float64) int {
	n := int(float64(channels)*width + 0.5)
	if n < 1 {
		n = 1
	}
	return n
}

// DCGAN28 returns the TensorFlow tutorial's DCGAN for 28x28x1 MNIST (Keras initialisation).
//
// Generator: Dense(7·7·256, no bias) → BN → LeakyReLU → Conv2DTranspose(128, 5, stride 1, same)
// → BN → LeakyReLU → Conv2DTranspose(64, 5, stride 2) → BN → LeakyReLU → Conv2DTranspose(1, 5,
// stride 2) → tanh, all without biases. Discriminator: Conv2D(64, 5, stride 2, same) → LeakyReLU →
// Dropout → Conv2D(128, 5, stride 2, same) → LeakyReLU → Dropout → Flatten → Dense(1).
func DCGAN28(c DCGAN28Config) GAN {
	c1, c2, c3 := scaled(256, c.Width), scaled(128, c.Width), scaled(64, c.Width)
	bn := func(scope *model.Scope, x *graph.Node) *graph.Node {
		return nn.BatchNorm(scope, x).Momentum(c.BNMomentum).Epsilon(c.BNEpsilon).Done()
	}
	gen := func(scope *model.Scope, z *graph.Node) *graph.Node {
		nn.SetInit(scope, nn.InitKeras)
		x := nn.DenseNoBias(scope.In("fc"), z, 7*7*c1) // [B, 7·7·256]
		x = nn.LeakyReLU(bn(scope.In("bn0"), x), c.LeakySlope)
		x = graph.Reshape(x, -1, 7, 7, c1)                                                  // [B, 7, 7, 256]
		x = nn.ConvTranspose2D(scope.In("deconv1"), x, c2, 5).PaddingSame().NoBias().Done() // [B, 7, 7, 128]
		x = nn.LeakyReLU(bn(scope.In("bn1"), x), c.LeakySlope)
		x = nn.ConvTranspose2D(scope.In("deconv2"), x, c3, 5).Stride(2).PaddingSame().NoBias().Done() // [B, 14, 14, 64]
		x = nn.LeakyReLU(bn(scope.In("bn2"), x), c.LeakySlope)
		x = nn.ConvTranspose2D(scope.In("deconv3"), x, 1, 5).Stride(2).PaddingSame().NoBias().Done() // [B, 28, 28, 1]
		return graph.Tanh(x)
	}
	d1, d2 := scaled(64, c.Width), scaled(128, c.Width)
	disc := func(scope *model.Scope, images *graph.Node) (*graph.Node, *graph.Node) {
		nn.SetInit(scope, nn.InitKeras)
		x := nn.Conv2D(scope.In("conv1"), images, d1, 5).Stride(2).PaddingSame().Done() // [B, 14, 14, 64]
		x = nn.LeakyReLU(x, c.LeakySlope)
		if c.Dropout > 0 {
			x = layers.DropoutStatic(scope.In("dropout1"), x, c.Dropout)
		}
		x = nn.Conv2D(scope.In("conv2"), x, d2, 5).Stride(2).PaddingSame().Done() // [B, 7, 7, 128]
		x = nn.LeakyReLU(x, c.LeakySlope)
		if c.Dropout > 0 {
			x = layers.DropoutStatic(scope.In("dropout2"), x, c.Dropout)
		}
		features := graph.Reshape(x, x.Shape().Dimensions[0], -1) // [B, 7·7·128]
		return nn.Dense(scope.In("fc"), features, 1), features    // [B, 1]
	}
	return GAN{Name: "dcgan28", Generator: gen, Discriminator: disc, LatentDim: 100, Height: 28, Width: 28, Channels: 1}
}

// DCGAN64Config parameterises the PyTorch DCGAN of pytorch/examples and the PyTorch tutorial.
type DCGAN64Config struct {
	// NZ is the latent size (100).
	NZ int
	// NGF and NDF are the generator's and discriminator's base widths (64).
	NGF, NDF int
	// Channels is 1 for MNIST, 3 for CIFAR-10.
	Channels int
}

// DCGAN64Tutorial is the configuration of the PyTorch tutorial on 1-channel MNIST.
var DCGAN64Tutorial = DCGAN64Config{NZ: 100, NGF: 64, NDF: 64, Channels: 1}

// DCGAN64 returns pytorch/examples' DCGAN for 64x64 images with its `weights_init`: the generator
// ConvTranspose(nz→8ngf, 4, 1, 0) → 4 x [ConvTranspose(4, 2, 1) + BN + ReLU] → tanh, the
// discriminator Conv(4, 2, 1) + LeakyReLU(0.2) → 3 x [Conv(4, 2, 1) + BN + LeakyReLU(0.2)] →
// Conv(8ndf→1, 4, 1, 0); all without biases. The discriminator returns logits: its sigmoid is in
// the loss (BCEWithLogits), which is BCELoss(sigmoid(·)) computed stably.
func DCGAN64(c DCGAN64Config) GAN {
	relu := func(x *graph.Node) *graph.Node { return graph.Max(x, graph.ZerosLike(x)) }
	bn := func(scope *model.Scope, x *graph.Node) *graph.Node { return nn.BatchNorm(scope, x).Done() }
	gen := func(scope *model.Scope, z *graph.Node) *graph.Node {
		nn.SetInit(scope, nn.InitDCGAN)
		x := graph.Reshape(z, -1, 1, 1, c.NZ)                                      // [B, 1, 1, nz]
		x = nn.ConvTranspose2D(scope.In("deconv1"), x, c.NGF*8, 4).NoBias().Done() // [B, 4, 4, ngf·8]
		x = relu(bn(scope.In("bn1"), x))
		x = nn.ConvTranspose2D(scope.In("deconv2"), x, c.NGF*4, 4).Stride(2).Padding(1).NoBias().Done() // [B, 8, 8, ngf·4]
		x = relu(bn(scope.In("bn2"), x))
		x = nn.ConvTranspose2D(scope.In("deconv3"), x, c.NGF*2, 4).Stride(2).Padding(1).NoBias().Done() // [B, 16, 16, ngf·2]
		x = relu(bn(scope.In("bn3"), x))
		x = nn.ConvTranspose2D(scope.In("deconv4"), x, c.NGF, 4).Stride(2).Padding(1).NoBias().Done() // [B, 32, 32, ngf]
		x = relu(bn(scope.In("bn4"), x))
		x = nn.ConvTranspose2D(scope.In("deconv5"), x, c.Channels, 4).Stride(2).Padding(1).NoBias().Done() // [B, 64, 64, nc]
		return graph.Tanh(x)
	}
	disc := func(scope *model.Scope, images *graph.Node) (*graph.Node, *graph.Node) {
		nn.SetInit(scope, nn.InitDCGAN)
		x := nn.Conv2D(scope.In("conv1"), images, c.NDF, 4).Stride(2).Padding(1).NoBias().Done() // [B, 32, 32, ndf]
		x = nn.LeakyReLU(x, 0.2)
		x = nn.Conv2D(scope.In("conv2"), x, c.NDF*2, 4).Stride(2).Padding(1).NoBias().Done() // [B, 16, 16, ndf·2]
		x = nn.LeakyReLU(bn(scope.In("bn2"), x), 0.2)
		x = nn.Conv2D(scope.In("conv3"), x, c.NDF*4, 4).Stride(2).Padding(1).NoBias().Done() // [B, 8, 8, ndf·4]
		x = nn.LeakyReLU(bn(scope.In("bn3"), x), 0.2)
		x = nn.Conv2D(scope.In("conv4"), x, c.NDF*8, 4).Stride(2).Padding(1).NoBias().Done() // [B, 4, 4, ndf·8]
		x = nn.LeakyReLU(bn(scope.In("bn4"), x), 0.2)
		features := graph.Reshape(x, x.Shape().Dimensions[0], -1)       // [B, 4·4·ndf·8]
		logits := nn.Conv2D(scope.In("conv5"), x, 1, 4).NoBias().Done() // [B, 1, 1, 1]
		return graph.Reshape(logits, -1, 1), features                   // [B, 1]
	}
	return GAN{Name: "dcgan64", Generator: gen, Discriminator: disc, LatentDim: c.NZ,
		Height: 64, Width: 64, Channels: c.Channels}
}
