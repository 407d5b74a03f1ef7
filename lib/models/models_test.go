package models

import (
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

// build runs both networks once and returns the output shapes and the trainable parameter counts
// of each network.
func build(t *testing.T, m GAN) (genShape, logitShape, featureShape []int, genParams, discParams int) {
	t.Helper()
	store, images, logits, features, err := m.Build()
	if err != nil {
		t.Fatal(err)
	}
	for v := range store.IterVariables() {
		if !v.Trainable {
			continue
		}
		switch {
		case strings.HasPrefix(v.Path(), "/generator/"):
			genParams += v.Shape().Size()
		case strings.HasPrefix(v.Path(), "/discriminator/"):
			discParams += v.Shape().Size()
		}
	}
	return images.Dimensions, logits.Dimensions, features.Dimensions, genParams, discParams
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestArchitecturesShapesAndParameterCounts(t *testing.T) {
	cases := []struct {
		gan                  GAN
		genParams, discParam int // Reference counts (PyTorch's / Keras' model summaries).
	}{
		// The PyTorch DCGAN tutorial's printed networks (nc = 3): 3,576,704 and 2,765,568.
		{DCGAN64(DCGAN64Config{NZ: 100, NGF: 64, NDF: 64, Channels: 3}), 3576704, 2765568},
		// The TensorFlow DCGAN tutorial's summaries: 2,305,472 trainable in G, 212,865 in D.
		{DCGAN28(DCGAN28Tutorial), 2305472, 212865},
		// Seed 000's Keras MLP: 100·128+128 + 128·128+128 + 128·1024+1024 + 1024·784+784; 784·128+128 + 128·128+128 + 129.
		{MLP(MLPSeed000, 28, 28, 1), 12928 + 16512 + 132096 + 803600, 100480 + 16512 + 129},
	}
	for _, c := range cases {
		gen, logits, features, gp, dp := build(t, c.gan)
		h, w, ch := c.gan.Height, c.gan.Width, c.gan.Channels
		if !equal(gen, []int{2, h, w, ch}) {
			t.Errorf("%s: generator output %v, want [2 %d %d %d]", c.gan.Name, gen, h, w, ch)
		}
		if !equal(logits, []int{2, 1}) {
			t.Errorf("%s: discriminator logits %v, want [2 1]", c.gan.Name, logits)
		}
		if len(features) != 2 || features[0] != 2 {
			t.Errorf("%s: discriminator features %v, want [2 F]", c.gan.Name, features)
		}
		if gp != c.genParams || dp != c.discParam {
			t.Errorf("%s: %d generator and %d discriminator parameters, want %d and %d",
				c.gan.Name, gp, dp, c.genParams, c.discParam)
		}
	}
}

func shapeOf(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }
