package models

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/nn"
)

// EncoderFn is a VAE encoder graph function: images x [B, H, W, C] (values in [0, 1]) to the
// parameters of the approximate posterior q(z|x) = N(μ, diag(exp(logvar))), each [B, latent].
// It is what lib/vae's Encoder type expects.
type EncoderFn = func(scope *model.Scope, x *graph.Node) (mu, logvar *graph.Node)

// DecoderFn is a VAE decoder graph function: latent vectors z [B, latent] to the decoder's raw
// output [B, H, W, C], the logits of a Bernoulli p(x|z) or the means of a Gaussian p(x|z) (the
// training engine applies the likelihood; the decoder applies no output activation). It is what
// lib/vae's Decoder type expects.
type DecoderFn = func(scope *model.Scope, z *graph.Node) *graph.Node

// VAE bundles an encoder, a decoder and the facts a trainer needs about them.
type VAE struct {
	// Name identifies the architecture ("mlp-vae", "conv-vae").
	Name string
	// Encoder and Decoder are the two networks.
	Encoder EncoderFn
	Decoder DecoderFn
	// LatentDim is the size of z.
	LatentDim int
	// Height, Width, Channels give the image shape both networks work on.
	Height, Width, Channels int
}

// MLPVAEConfig describes the fully connected VAE of pytorch/examples/vae.
type MLPVAEConfig struct {
	// Hidden is the width of the one hidden layer of the encoder and of the decoder (400).
	Hidden int
	// LatentDim is the size of z (20).
	LatentDim int
	// Height, Width, Channels give the image shape (28, 28, 1 for MNIST).
	Height, Width, Channels int
}

// MLPVAEPyTorch is pytorch/examples/vae on MNIST: 784-400-20, decoder 20-400-784.
var MLPVAEPyTorch = MLPVAEConfig{Hidden: 400, LatentDim: 20, Height: 28, Width: 28, Channels: 1}

// vaeReLU is max(x, 0), PyTorch's F.relu.
func vaeReLU(x *graph.Node) *graph.Node { return graph.Max(x, graph.ZerosLike(x)) }

// MLPVAE returns the VAE of pytorch/examples/vae (the Gaussian-encoder, Bernoulli-decoder MLPs of
// Kingma & Welling 2014, appendix C) with PyTorch's default initialisation:
//
//	encoder: fc1 Linear(784, 400) → ReLU → fc21 Linear(400, 20) = μ, fc22 Linear(400, 20) = log σ²
//	decoder: fc3 Linear(20, 400) → ReLU → fc4 Linear(400, 784) → (sigmoid)
//
// The decoder returns fc4's output, the logits: pytorch/examples applies the sigmoid and then
// binary cross-entropy, which is the same loss as BCE on the logits (lib/vae computes the latter,
// which is stable). The layer names are the example's.
func MLPVAE(c MLPVAEConfig) VAE {
	pixels := c.Height * c.Width * c.Channels
	encoder := func(scope *model.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
		nn.SetInit(scope, nn.InitPyTorch)
		h := graph.Reshape(x, x.Shape().Dimensions[0], pixels) // [B, 784]
		h = vaeReLU(nn.Dense(scope.In("fc1"), h, c.Hidden))    // [B, 400]
		mu := nn.Dense(scope.In("fc21"), h, c.LatentDim)       // [B, 20]
		logvar := nn.Dense(scope.In("fc22"), h, c.LatentDim)   // [B, 20]
		return mu, logvar
	}
	decoder := func(scope *model.Scope, z *graph.Node) *graph.Node {
		nn.SetInit(scope, nn.InitPyTorch)
		h := vaeReLU(nn.Dense(scope.In("fc3"), z, c.Hidden))            // [B, 400]
		logits := nn.Dense(scope.In("fc4"), h, pixels)                  // [B, 784]
		return graph.Reshape(logits, -1, c.Height, c.Width, c.Channels) // [B, 28, 28, 1]
	}
	return VAE{Name: "mlp-vae", Encoder: encoder, Decoder: decoder, LatentDim: c.LatentDim,
		Height: c.Height, Width: c.Width, Channels: c.Channels}
}

// ConvVAEConfig describes the convolutional (β-)VAE of VAAL (Sinha et al. 2019, sinhasam/vaal
// model.py), scaled to 28x28 or 32x32 images.
type ConvVAEConfig struct {
	// Size is the image height and width: 32 (CIFAR-10, VAAL's own size) or 28 (MNIST,
	// Fashion-MNIST).
	Size int
	// Channels is 1 for MNIST, 3 for CIFAR-10.
	Channels int
	// LatentDim is the size of z (VAAL's --latent_dim 32).
	LatentDim int
	// Width scales every convolution's channels: 1 is VAAL (128, 256, 512, 1024). On the pure-Go
	// backend a fraction such as 0.25 trains many times faster.
	Width float64
}

// ConvVAEVAAL is VAAL's VAE on CIFAR-10: 32x32x3, z of size 32, full width.
var ConvVAEVAAL = ConvVAEConfig{Size: 32, Channels: 3, LatentDim: 32, Width: 1}

// ConvVAE returns VAAL's VAE. Every convolution is 4x4, stride 2, padding 1 and without bias,
// followed by BatchNorm and ReLU:
//
//	encoder: Conv 128 → Conv 256 → Conv 512 → Conv 1024 → flatten → fc_mu, fc_logvar (Linear)
//	         32x32: 32 → 16 → 8 → 4 → 2 (flatten 1024·2·2);  28x28: 28 → 14 → 7 → 3 → 1 (1024·1·1)
//	decoder: Linear z → 1024·s·s → ConvTranspose 512 → 256 (→ 128) → ConvTranspose(1x1) to channels
//	         32x32: s = 4, three transposed convolutions 4 → 8 → 16 → 32
//	         28x28: s = 7, two transposed convolutions 7 → 14 → 28 (the 128 layer is left out)
//
// The decoder ends without an output activation, as VAAL's (it trains a Gaussian decoder with
// MSE on images normalised to [-1, 1]); lib/vae reads its output as Bernoulli logits or as
// Gaussian means. Initialisation is PyTorch's default; VAAL re-initialises with Kaiming-normal
// weights and zero biases, which advlab's nn package does not offer.
func ConvVAE(c ConvVAEConfig) VAE {
	if c.Size != 28 && c.Size != 32 {
		panic(fmt.Sprintf("models.ConvVAE: Size %d, want 28 or 32", c.Size))
	}
	width := c.Width
	if width == 0 {
		width = 1
	}
	ch := func(n int) int { return scaled(n, width) }
	block := func(scope *model.Scope, x *graph.Node, filters int) *graph.Node {
		x = nn.Conv2D(scope, x, filters, 4).Stride(2).Padding(1).NoBias().Done()
		return vaeReLU(nn.BatchNorm(scope.In("bn"), x).Done())
	}
	upBlock := func(scope *model.Scope, x *graph.Node, filters int) *graph.Node {
		x = nn.ConvTranspose2D(scope, x, filters, 4).Stride(2).Padding(1).NoBias().Done()
		return vaeReLU(nn.BatchNorm(scope.In("bn"), x).Done())
	}
	encoder := func(scope *model.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
		nn.SetInit(scope, nn.InitPyTorch)
		h := block(scope.In("conv1"), x, ch(128))                 // 32: [B, 16, 16, 128]  28: [B, 14, 14, 128]
		h = block(scope.In("conv2"), h, ch(256))                  // 32: [B, 8, 8, 256]    28: [B, 7, 7, 256]
		h = block(scope.In("conv3"), h, ch(512))                  // 32: [B, 4, 4, 512]    28: [B, 3, 3, 512]
		h = block(scope.In("conv4"), h, ch(1024))                 // 32: [B, 2, 2, 1024]   28: [B, 1, 1, 1024]
		h = graph.Reshape(h, h.Shape().Dimensions[0], -1)         // 32: [B, 1024·2·2]     28: [B, 1024]
		mu := nn.Dense(scope.In("fc_mu"), h, c.LatentDim)         // [B, latent]
		logvar := nn.Dense(scope.In("fc_logvar"), h, c.LatentDim) // [B, latent]
		return mu, logvar
	}
	decoder := func(scope *model.Scope, z *graph.Node) *graph.Node {
		nn.SetInit(scope, nn.InitPyTorch)
		if c.Size == 32 {
			h := nn.Dense(scope.In("fc"), z, ch(1024)*4*4)                      // [B, 1024·4·4]
			h = graph.Reshape(h, -1, 4, 4, ch(1024))                            // [B, 4, 4, 1024]
			h = upBlock(scope.In("deconv1"), h, ch(512))                        // [B, 8, 8, 512]
			h = upBlock(scope.In("deconv2"), h, ch(256))                        // [B, 16, 16, 256]
			h = upBlock(scope.In("deconv3"), h, ch(128))                        // [B, 32, 32, 128]
			return nn.ConvTranspose2D(scope.In("out"), h, c.Channels, 1).Done() // [B, 32, 32, C]
		}
		h := nn.Dense(scope.In("fc"), z, ch(1024)*7*7)                      // [B, 1024·7·7]
		h = graph.Reshape(h, -1, 7, 7, ch(1024))                            // [B, 7, 7, 1024]
		h = upBlock(scope.In("deconv1"), h, ch(512))                        // [B, 14, 14, 512]
		h = upBlock(scope.In("deconv2"), h, ch(256))                        // [B, 28, 28, 256]
		return nn.ConvTranspose2D(scope.In("out"), h, c.Channels, 1).Done() // [B, 28, 28, C]
	}
	return VAE{Name: "conv-vae", Encoder: encoder, Decoder: decoder, LatentDim: c.LatentDim,
		Height: c.Size, Width: c.Size, Channels: c.Channels}
}
