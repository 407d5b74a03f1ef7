package models

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
)

// buildVAE runs both networks once on zeros in training mode and returns the shapes of μ, log σ²
// and the decoder's output, and the trainable parameter counts of encoder and decoder.
func buildVAE(t *testing.T, m VAE, batch int) (mu, logvar, decoded []int, encParams, decParams int) {
	t.Helper()
	store := model.NewStore()
	outputs, err := model.CallOnceN(backend.MustNew(), store, func(scope *model.Scope, x, z *graph.Node) []*graph.Node {
		store.SetTraining(x.Graph(), true)
		mu, logvar := m.Encoder(store.Scope("/encoder"), x)
		return []*graph.Node{mu, logvar, m.Decoder(store.Scope("/decoder"), z)}
	}, tensors.FromShape(shapeOf(batch, m.Height, m.Width, m.Channels)), tensors.FromShape(shapeOf(batch, m.LatentDim)))
	if err != nil {
		t.Fatal(err)
	}
	for v := range store.IterVariables() {
		switch {
		case !v.Trainable:
		case strings.HasPrefix(v.Path(), "/encoder/"):
			encParams += v.Shape().Size()
		case strings.HasPrefix(v.Path(), "/decoder/"):
			decParams += v.Shape().Size()
		}
	}
	return outputs[0].Shape().Dimensions, outputs[1].Shape().Dimensions, outputs[2].Shape().Dimensions, encParams, decParams
}

func TestVAEShapesAndParameterCounts(t *testing.T) {
	// conv: Σ of conv weights (4·4·cin·cout, no bias) + BN (2·cout) + the dense layers, at width 1/8:
	// encoder 3→16→32→64→128, flatten s·s·128; decoder fc z→128·s·s, 128→64→32(→16), 1x1 to channels.
	conv := func(cin, cout int) int { return 16*cin*cout + 2*cout }
	cases := []struct {
		vae        VAE
		enc, dec   int
		wantLatent int
	}{
		// pytorch/examples/vae: 652,824 parameters in all (784·400+400 + 2·(400·20+20); 20·400+400 + 400·784+784).
		{MLPVAE(MLPVAEPyTorch), 314000 + 2*8020, 8400 + 314384, 20},
		// VAAL's model.py VAE on CIFAR-10 (nc 3, z_dim 32), counted by PyTorch: 11,282,240 + 11,552,899.
		{ConvVAE(ConvVAEVAAL), 11282240, 11552899, 32},
		{ConvVAE(ConvVAEConfig{Size: 32, Channels: 3, LatentDim: 8, Width: 0.125}),
			conv(3, 16) + conv(16, 32) + conv(32, 64) + conv(64, 128) + 2*(128*2*2*8+8),
			8*128*4*4 + 128*4*4 + conv(128, 64) + conv(64, 32) + conv(32, 16) + 16*3 + 3, 8},
		{ConvVAE(ConvVAEConfig{Size: 28, Channels: 1, LatentDim: 10, Width: 0.125}),
			conv(1, 16) + conv(16, 32) + conv(32, 64) + conv(64, 128) + 2*(128*10+10),
			10*128*7*7 + 128*7*7 + conv(128, 64) + conv(64, 32) + 32*1 + 1, 10},
	}
	for _, c := range cases {
		mu, logvar, decoded, enc, dec := buildVAE(t, c.vae, 2)
		h, w, ch := c.vae.Height, c.vae.Width, c.vae.Channels
		if !equal(mu, []int{2, c.wantLatent}) || !equal(logvar, []int{2, c.wantLatent}) {
			t.Errorf("%s %dx%d: μ %v and log σ² %v, want [2 %d]", c.vae.Name, h, w, mu, logvar, c.wantLatent)
		}
		if !equal(decoded, []int{2, h, w, ch}) {
			t.Errorf("%s %dx%d: decoder output %v, want [2 %d %d %d]", c.vae.Name, h, w, decoded, h, w, ch)
		}
		if enc != c.enc || dec != c.dec {
			t.Errorf("%s %dx%d: %d encoder and %d decoder parameters, want %d and %d", c.vae.Name, h, w, enc, dec, c.enc, c.dec)
		}
	}
}
