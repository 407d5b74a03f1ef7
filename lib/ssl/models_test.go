package ssl_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/models"
	"github.com/advlab/advlab/lib/ssl"
)

// TestImprovedGANMNISTSmoke runs the reference MNIST model for two steps on random 28x28 images:
// the data-dependent initialisation sets the hidden layers' fixed scales, and the losses are finite.
func TestImprovedGANMNISTSmoke(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	images := func(n int, labelled bool) ssl.Floats {
		f := ssl.Floats{Values: make([]float32, n*784), N: n, Height: 28, Width: 28, Channels: 1}
		for i := range f.Values {
			f.Values[i] = float32(rng.Float64())
		}
		if labelled {
			f.Labels = make([]int, n)
			for i := range f.Labels {
				f.Labels[i] = i % 10
			}
		}
		return f
	}
	m := models.ImprovedGANMNIST()
	cfg := ssl.Config{BatchSize: 20, DataInit: 40, Seed: 1, FixedNoise: 4}
	tr, err := ssl.New(backend.MustNew(), cfg, m.Discriminator, m.Generator, images(20, true), images(60, false))
	if err != nil {
		t.Fatal(err)
	}
	var snapshots int
	if err := tr.Train(context.Background(), ssl.TrainOptions{Steps: 2, SnapshotEvery: 2, OnSnapshot: func(s ssl.Snapshot) {
		snapshots++
		if len(s.Samples) != 4*784 {
			t.Errorf("snapshot holds %d values, want 4·784", len(s.Samples))
		}
	}}); err != nil {
		t.Fatal(err)
	}
	h := tr.History()
	t.Logf("step 2: L_lab %.3f L_unl %.3f G %.4f train error %.2f", h[1].LossLab, h[1].LossUnl, h[1].GLoss, h[1].TrainError)
	scale := tensors.MustCopyFlatData[float32](tr.Store().GetVariable("/discriminator/fc1/weights_g").MustValue())
	if scale[0] == 1 || snapshots != 1 {
		t.Errorf("fc1 scale %v after data-dependent init (want != 1), %d snapshots (want 1)", scale[0], snapshots)
	}
}
