package bench

import "fmt"

// Floating-point operations of one training step, counted analytically from the layer shapes.
//
// Only the matrix-product layers are counted (dense layers, convolutions and transposed
// convolutions), at 2 FLOPs per multiply-accumulate; batch norm, activations, losses and the
// optimizer are a few percent at most and are left out. A backward pass costs about twice its
// forward pass (the gradient with respect to the input and the one with respect to the weights),
// so forward + backward ≈ 3 × forward. One GAN step, as pytorch/examples' dcgan runs it, passes
//
//	G once (its forward in the D update, its backward in the G update)          3 × G
//	D on the real batch and on the detached fake batch, both back-propagated     2 × 3 × D
//	D again on the fake batch for G's loss, back-propagated into G              3 × D
//
// so FLOPs = 2 · batch · (3·MACs(G) + 9·MACs(D)), with MACs per image. (PyTorch computes D's weight
// gradients in G's backward pass although it discards them; advlab's graph computes only the input
// gradient there, which makes the count a slight overestimate for advlab.)

// Layer is one matrix-product layer of a network and its multiply-accumulates per image.
type Layer struct {
	// Name is the layer's scope name in lib/models.
	Name string
	// Shape describes the layer in words, e.g. "conv 5x5/2 1→64, 28x28 → 14x14".
	Shape string
	// Positions is the number of places its weights are applied at for one image: 1 for a dense
	// layer, the output pixels of a convolution, the input pixels of a transposed convolution.
	Positions int
	// MACs is the number of multiply-accumulates of its forward pass for one image: Positions
	// times the number of weights.
	MACs float64
}

// denseLayer is a fully connected layer from in to out features.
func denseLayer(name string, in, out int) Layer {
	return Layer{Name: name, Shape: fmt.Sprintf("dense %d→%d", in, out), Positions: 1, MACs: float64(in) * float64(out)}
}

// convLayer is a convolution with a k×k kernel producing an outH×outW×cout map from cin channels:
// every output value is a dot product of length k·k·cin.
func convLayer(name string, k, stride, cin, cout, outH, outW int) Layer {
	return Layer{Name: name, Shape: fmt.Sprintf("conv %dx%d/%d %d→%d, out %dx%d", k, k, stride, cin, cout, outH, outW),
		Positions: outH * outW, MACs: float64(outH*outW) * float64(k*k*cin) * float64(cout)}
}

// convTransposeLayer is a transposed convolution with a k×k kernel on an inH×inW×cin map: every
// input value is scattered into k·k·cout outputs (the transpose of the matching convolution).
func convTransposeLayer(name string, k, stride, cin, cout, inH, inW int) Layer {
	return Layer{Name: name, Shape: fmt.Sprintf("conv-transpose %dx%d/%d %d→%d, in %dx%d", k, k, stride, cin, cout, inH, inW),
		Positions: inH * inW, MACs: float64(inH*inW) * float64(k*k*cin) * float64(cout)}
}

// totalWeights counts the layers' matrix weights (kernels; no biases or batch-norm parameters):
// the number a peer's networks must have too for its column to time the same computation.
func totalWeights(layers []Layer) int {
	total := 0
	for _, l := range layers {
		total += int(l.MACs) / l.Positions
	}
	return total
}

// totalMACs sums the layers' multiply-accumulates.
func totalMACs(layers []Layer) float64 {
	var total float64
	for _, l := range layers {
		total += l.MACs
	}
	return total
}

// DCGAN28Layers returns the matrix-product layers of the TensorFlow tutorial's DCGAN
// (models.DCGAN28Tutorial, full width) for one 28x28x1 image.
func DCGAN28Layers() (generator, discriminator []Layer) {
	generator = []Layer{
		denseLayer("fc", 100, 7*7*256),                      // [B, 7·7·256]
		convTransposeLayer("deconv1", 5, 1, 256, 128, 7, 7), // [B, 7, 7, 128]
		convTransposeLayer("deconv2", 5, 2, 128, 64, 7, 7),  // [B, 14, 14, 64]
		convTransposeLayer("deconv3", 5, 2, 64, 1, 14, 14),  // [B, 28, 28, 1]
	}
	discriminator = []Layer{
		convLayer("conv1", 5, 2, 1, 64, 14, 14), // [B, 14, 14, 64]
		convLayer("conv2", 5, 2, 64, 128, 7, 7), // [B, 7, 7, 128]
		denseLayer("fc", 7*7*128, 1),            // [B, 1]
	}
	return generator, discriminator
}

// DCGAN64Layers returns the matrix-product layers of pytorch/examples' DCGAN
// (models.DCGAN64Tutorial: nz 100, ngf = ndf = 64, one channel) for one 64x64x1 image.
func DCGAN64Layers() (generator, discriminator []Layer) { return DCGAN64LayersWidth(64) }

// DCGAN64LayersWidth returns the layers of the same DCGAN with base width ngf = ndf = width (the
// scaling workloads' "ngf"); the shapes in the comments are at width 64.
func DCGAN64LayersWidth(width int) (generator, discriminator []Layer) {
	const nz, nc = 100, 1
	ngf, ndf := width, width
	generator = []Layer{
		convTransposeLayer("deconv1", 4, 1, nz, ngf*8, 1, 1),    // [B, 4, 4, 512]
		convTransposeLayer("deconv2", 4, 2, ngf*8, ngf*4, 4, 4), // [B, 8, 8, 256]
		convTransposeLayer("deconv3", 4, 2, ngf*4, ngf*2, 8, 8), // [B, 16, 16, 128]
		convTransposeLayer("deconv4", 4, 2, ngf*2, ngf, 16, 16), // [B, 32, 32, 64]
		convTransposeLayer("deconv5", 4, 2, ngf, nc, 32, 32),    // [B, 64, 64, 1]
	}
	discriminator = []Layer{
		convLayer("conv1", 4, 2, nc, ndf, 32, 32),    // [B, 32, 32, 64]
		convLayer("conv2", 4, 2, ndf, ndf*2, 16, 16), // [B, 16, 16, 128]
		convLayer("conv3", 4, 2, ndf*2, ndf*4, 8, 8), // [B, 8, 8, 256]
		convLayer("conv4", 4, 2, ndf*4, ndf*8, 4, 4), // [B, 4, 4, 512]
		convLayer("conv5", 4, 1, ndf*8, 1, 1, 1),     // [B, 1, 1, 1]
	}
	return generator, discriminator
}

// SSLLayers returns the dense layers of openai/improved-gan's semi-supervised MNIST model
// (models.ImprovedGANMNIST) for one image: the generator 100-500-500-784 and the discriminator
// 784-1000-500-250-250-250-10.
func SSLLayers() (generator, discriminator []Layer) {
	generator = []Layer{denseLayer("fc1", 100, 500), denseLayer("fc2", 500, 500), denseLayer("out", 500, 784)}
	widths := []int{784, 1000, 500, 250, 250, 250}
	for i := 1; i < len(widths); i++ {
		discriminator = append(discriminator, denseLayer(fmt.Sprintf("fc%d", i), widths[i-1], widths[i]))
	}
	discriminator = append(discriminator, denseLayer("out", 250, 10))
	return generator, discriminator
}

// SSLStepFLOPs counts one semi-supervised step (lib/ssl's Trainer.Step) at batch SSLBatch: D's
// update runs G forward once (detached) and D forward and backward on the labelled, unlabelled and
// generated batches (backward: twice the forward); G's update runs G forward and backward and D
// forward on the second unlabelled batch and forward and backward to its input only (D's weights
// are constants there: about one forward more) on the generated one: 2·B·(4·MACs(G) + 12·MACs(D)).
func SSLStepFLOPs(generator, discriminator []Layer) float64 {
	return 2 * SSLBatch * (4*totalMACs(generator) + 12*totalMACs(discriminator))
}

// MLPVAELayers returns the dense layers of pytorch/examples/vae (models.MLPVAEPyTorch) for one
// 28x28 image.
func MLPVAELayers() []Layer {
	return []Layer{
		denseLayer("fc1", 784, 400), // [B, 400]
		denseLayer("fc21", 400, 20), // [B, 20] μ
		denseLayer("fc22", 400, 20), // [B, 20] log σ²
		denseLayer("fc3", 20, 400),  // [B, 400]
		denseLayer("fc4", 400, 784), // [B, 784]
	}
}

// GANStepFLOPs is the FLOP count of one alternating GAN step at the given batch size (see the
// comment at the top of this file): 2 · batch · (3·MACs(G) + 9·MACs(D)).
func GANStepFLOPs(generator, discriminator []Layer, batch int) float64 {
	return 2 * float64(batch) * (3*totalMACs(generator) + 9*totalMACs(discriminator))
}

// VAEStepFLOPs is the FLOP count of one VAE step (encoder and decoder forward and backward):
// 2 · batch · 3 · MACs.
func VAEStepFLOPs(layers []Layer, batch int) float64 {
	return 2 * float64(batch) * 3 * totalMACs(layers)
}

// MatmulFLOPs is the FLOP count of an n×n by n×n matrix product: 2·n³.
func MatmulFLOPs(n int) float64 {
	return 2 * float64(n) * float64(n) * float64(n)
}

// VAAL's networks with lib/active's defaults (latent 32, the MLP VAE of 784-400-32): multiply-
// accumulates per image of the encoder (to μ and log σ²), the decoder and the latent discriminator.
const (
	vaalEncoderMACs   = 784*400 + 2*400*32 // fc1, fc21, fc22
	vaalDecoderMACs   = 32*400 + 400*784   // fc3, fc4
	vaalAdversaryMACs = 32*512 + 512*512 + 512*1
)

// VAALRoundFLOPs is the FLOP count of one VAAL round (lib/active.VAAL.Select) of the given number
// of iterations at the given batch size, scoring pool images at the end. Each iteration makes two
// VAE updates, each passing batch labelled and batch unlabelled images through encoder, decoder
// and discriminator forward and backward (3 × forward), and one discriminator update (encoder
// forward only, discriminator forward and backward); scoring runs encoder and discriminator forward
// on every pool image:
//
//	2 · (iterations · 2·batch · (2·3·(E + Dec + A) + E + 3·A) + pool · (E + A))
func VAALRoundFLOPs(iterations, batch, pool int) float64 {
	e, dec, a := float64(vaalEncoderMACs), float64(vaalDecoderMACs), float64(vaalAdversaryMACs)
	perIteration := 2 * float64(batch) * (2*3*(e+dec+a) + e + 3*a)
	return 2 * (float64(iterations)*perIteration + float64(pool)*(e+a))
}
