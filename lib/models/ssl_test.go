package models

import (
	"strings"
	"testing"
)

// TestSSLArchitectures checks the semi-supervised models' output shapes and parameter counts.
func TestSSLArchitectures(t *testing.T) {
	cases := []struct {
		gan                              GAN
		featureSize                      int
		genParams, discParams, discFixed int
	}{
		// openai/improved-gan's MNIST model. D: weights 784·1000 + 1000·500 + 500·250 + 250·250 +
		// 250·250 + 250·10, biases 1000+500+250+250+250+10, the output layer's 10 scales (the hidden
		// layers' 2250 scales are fixed). G: 100·500 + 500 offsets + 500·500 + 500 + 500·784 + 784
		// scales + 784 biases, which is also what Lasagne counts for the reference generator.
		{ImprovedGANMNIST(), 250, 694568, 1536500 + 2260 + 10, 2250},
		// Conv D: 5·5·1·32+32 + 5·5·32·64+64 + 3136·128+128 + 128·10+10; G: DCGAN-28.
		{SSLConv28(), 128, 2305472, 832 + 51264 + 401536 + 1290, 0},
	}
	for _, c := range cases {
		store, images, logits, features, err := c.gan.Build()
		if err != nil {
			t.Fatal(err)
		}
		if !equal(images.Dimensions, []int{2, 28, 28, 1}) || !equal(logits.Dimensions, []int{2, 10}) ||
			!equal(features.Dimensions, []int{2, c.featureSize}) {
			t.Errorf("%s: generator %v, logits %v, features %v; want [2 28 28 1], [2 10], [2 %d]",
				c.gan.Name, images.Dimensions, logits.Dimensions, features.Dimensions, c.featureSize)
		}
		gen, disc, discFixed := 0, 0, 0
		for v := range store.IterVariables() {
			size := v.Shape().Size()
			switch {
			case strings.HasPrefix(v.Path(), "/generator/") && v.Trainable:
				gen += size
			case strings.HasPrefix(v.Path(), "/discriminator/") && v.Trainable:
				disc += size
			case strings.HasPrefix(v.Path(), "/discriminator/"):
				discFixed += size
			}
		}
		if gen != c.genParams || disc != c.discParams || discFixed != c.discFixed {
			t.Errorf("%s: %d generator, %d discriminator (%d fixed) parameters; want %d, %d (%d fixed)",
				c.gan.Name, gen, disc, discFixed, c.genParams, c.discParams, c.discFixed)
		}
	}
}
