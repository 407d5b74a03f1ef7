package ssl

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/advlab/advlab/internal/testenv"
	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/parallel"
)

// TestDataParallelStepEqualsOneDevice trains the tiny semi-supervised GAN (its classifier's
// Gaussian noise drawn in the graph, its generator's batch norm over the whole batch) for three
// steps on one device without distribution and data-parallel over 1, 2 and 4 devices, and checks
// that the losses and every variable agree within 1e-4; then that a data-parallel checkpoint
// resumes on one device. It runs where the backend has distributed execution: XLA through a PJRT
// plugin (make test runs it on GOMLX_BACKEND=xla:cpu,devices=4).
func TestDataParallelStepEqualsOneDevice(t *testing.T) {
	b := backend.MustNew()
	if _, err := parallel.New(b, 1, "ssl"); err != nil {
		t.Skipf("no data-parallel training here: %v", err)
	}
	labelled, unlabelled := stripesLabelled(), stripes(256, 8)
	train := func(devices, steps int) *Trainer {
		cfg := tinyConfig()
		cfg.Devices = devices
		tr, err := New(b, cfg, tinyClassifier, tinyGenerator, labelled, unlabelled)
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
			near("L_lab", got[i].LossLab, want[i].LossLab)
			near("L_unl", got[i].LossUnl, want[i].LossUnl)
			near("G loss", got[i].GLoss, want[i].GLoss)
			near("D(x)", got[i].DReal, want[i].DReal)
		}
		testenv.SameVariables(t, fmt.Sprintf("Devices = %d vs one device", devices), testenv.Variables(dp.Store()), wantVars, 1e-4)
		t.Logf("Devices = %d on %q: 3 steps equal the one-device steps (last L_unl %.6f, G loss %.6f)", devices, b.Name(),
			got[2].LossUnl, got[2].GLoss)

		path := filepath.Join(t.TempDir(), "parallel.ckpt")
		if err := dp.Save(path); err != nil {
			t.Fatal(err)
		}
		m2, err := dp.Step()
		if err != nil {
			t.Fatal(err)
		}
		resumed := train(0, 0)
		if err := resumed.Load(path); err != nil {
			t.Fatalf("loading a Devices = %d checkpoint on one device: %v", devices, err)
		}
		m1, err := resumed.Step()
		if err != nil {
			t.Fatal(err)
		}
		near("resumed L_unl", m1.LossUnl, m2.LossUnl)
		near("resumed G loss", m1.GLoss, m2.GLoss)
	}
}
