package vae

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/advlab/advlab/internal/testenv"
	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/models"
	"github.com/advlab/advlab/lib/parallel"
)

// TestDataParallelStepEqualsOneDevice trains the tiny β-VAE (with the capacity schedule, a
// replicated scalar input) for three steps on one device without distribution and data-parallel
// over 1, 2 and 4 devices, and checks that the losses and every variable (weights and Adam moments)
// agree within 1e-4; then that a data-parallel checkpoint resumes on one device and on another
// device count. It runs where the backend has distributed execution: XLA through a PJRT plugin
// (make test runs it on GOMLX_BACKEND=xla:cpu,devices=4).
func TestDataParallelStepEqualsOneDevice(t *testing.T) {
	b := backend.MustNew()
	if _, err := parallel.New(b, 1, "vae"); err != nil {
		t.Skipf("no data-parallel training here: %v", err)
	}
	images := bars(96, 5)
	cfg := Config{LatentDim: 3, BatchSize: 16, Seed: 13, Gamma: 10, CapacityMax: 5, CapacitySteps: 4}
	m := models.MLPVAE(models.MLPVAEConfig{Hidden: 32, LatentDim: cfg.LatentDim, Height: 8, Width: 8, Channels: 1})
	train := func(devices, steps int) *Trainer {
		c := cfg
		c.Devices = devices
		tr, err := New(b, c, m.Encoder, m.Decoder, images)
		if err != nil {
			t.Fatalf("Devices = %d: %v", devices, err)
		}
		for range steps {
			if _, err := tr.Step(); err != nil {
				t.Fatalf("Devices = %d: %v", devices, err)
			}
		}
		return tr
	}
	near := func(what string, got, want float64) { t.Helper(); testenv.Near(t, what, "one device", got, want, 1e-4) }
	plain := train(0, 3)
	want, wantVars := plain.History(), testenv.Variables(plain.Store())
	for _, devices := range []int{1, 2, 4} {
		if devices > b.NumDevices() {
			t.Logf("backend %q has %d device(s): not trained over %d", b.Name(), b.NumDevices(), devices)
			continue
		}
		dp := train(devices, 3)
		got := dp.History()
		for i := range want {
			near("loss", got[i].Loss, want[i].Loss)
			near("reconstruction", got[i].Reconstruction, want[i].Reconstruction)
			near("KL", got[i].KL, want[i].KL)
		}
		testenv.SameVariables(t, fmt.Sprintf("Devices = %d vs one device", devices), testenv.Variables(dp.Store()), wantVars, 1e-4)
		t.Logf("Devices = %d on %q: 3 steps equal the one-device steps (last loss %.6f, KL %.6f)", devices, b.Name(),
			got[2].Loss, got[2].KL)

		// The checkpoint resumes on one device and on another device count: one more step agrees.
		path := filepath.Join(t.TempDir(), "parallel.ckpt")
		if err := dp.Save(path); err != nil {
			t.Fatal(err)
		}
		m2, err := dp.Step()
		if err != nil {
			t.Fatal(err)
		}
		others := []int{0, 2} // one device, and another device count
		if devices == 2 {
			others[1] = 1
		}
		for _, other := range others {
			resumed := train(other, 0)
			if err := resumed.Load(path); err != nil {
				t.Fatalf("loading a Devices = %d checkpoint with Devices = %d: %v", devices, other, err)
			}
			m1, err := resumed.Step()
			if err != nil {
				t.Fatal(err)
			}
			if m1.Step != 4 {
				t.Errorf("resumed step %d, want 4", m1.Step)
			}
			near("resumed loss", m1.Loss, m2.Loss)
			near("resumed KL", m1.KL, m2.KL)
		}
	}
}
