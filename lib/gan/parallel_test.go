package gan

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/internal/testenv"
	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/nn"
	"github.com/advlab/advlab/lib/parallel"
)

// bnGenerator and bnDiscriminator are the tiny networks with a batch norm each: under data
// parallelism its batch statistics must be those of the whole batch, not of one device's share.
// The layer before each batch norm has no bias, as in DCGAN: the norm cancels such a bias, so its
// gradient is zero up to rounding, and Adam turns that rounding noise into full-size steps that
// differ between any two summation orders (they did, by 3e-3, between one and two XLA devices).
func bnGenerator(scope *model.Scope, z *graph.Node) *graph.Node {
	h := nn.DenseNoBias(scope.In("fc1"), z, 16)
	h = nn.LeakyReLU(nn.BatchNorm(scope.In("bn1"), h).Done(), 0.2)
	return graph.Reshape(graph.Tanh(nn.Dense(scope.In("fc2"), h, 4)), -1, 2, 2, 1)
}

func bnDiscriminator(scope *model.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
	h := nn.DenseNoBias(scope.In("fc1"), graph.Reshape(x, x.Shape().Dimensions[0], -1), 16)
	h = nn.LeakyReLU(nn.BatchNorm(scope.In("bn1"), h).Done(), 0.2)
	return nn.Dense(scope.In("fc2"), h, 1), h
}

// TestDevicesNeedDistributedExecution: on a backend without distributed execution (the pure-Go
// backend, ONNX Runtime) Devices > 0 is refused when the trainer is created, saying why and what
// runs it; so is a device count the backend does not have.
func TestDevicesNeedDistributedExecution(t *testing.T) {
	b := backend.MustNew()
	if _, err := parallel.New(b, 1, "gan"); err == nil {
		t.Skipf("backend %q runs distributed graphs: TestDataParallelStepEqualsOneDevice trains on it", b.Name())
	}
	cfg := tinyConfig()
	cfg.Devices = 1
	_, err := New(b, cfg, tinyGenerator, tinyDiscriminator, tinyData(64))
	if err == nil || !strings.Contains(err.Error(), "Devices = 1") || !strings.Contains(err.Error(), "no distributed execution") ||
		!strings.Contains(err.Error(), "XLA") {
		t.Errorf("Devices = 1 on %q: error %v, want one naming Devices, the missing distributed execution and XLA", b.Name(), err)
	}
	cfg.Devices = 2 * b.NumDevices()
	_, err = New(b, cfg, tinyGenerator, tinyDiscriminator, tinyData(64))
	if want := "device(s)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Devices = %d on a backend with %d: error %v, want one giving the backend's device count", cfg.Devices,
			b.NumDevices(), err)
	}
	t.Logf("Devices = %d on %q: %v", cfg.Devices, b.Name(), err)
}

// TestDataParallelStepEqualsOneDevice trains the tiny batch-norm GAN for three steps on one device
// without distribution and data-parallel over 1 and (where the backend has them) 2 devices, on the
// same batches, and checks that the metrics and every variable (weights, Adam moments, running
// statistics) agree; then that a checkpoint of the data-parallel run resumes on one device. It runs
// where the backend has distributed execution: XLA through a PJRT plugin
// (scripts/bench/xla_cuda.sh runs it on CUDA).
func TestDataParallelStepEqualsOneDevice(t *testing.T) {
	b := backend.MustNew()
	if _, err := parallel.New(b, 1, "gan"); err != nil {
		t.Skipf("no data-parallel training here: %v", err)
	}
	cfg := tinyConfig()
	data := tinyData(64)
	rng := rand.New(rand.NewPCG(3, 4))
	type batch struct{ real, z []float32 }
	batches := make([]batch, 3)
	for i := range batches {
		batches[i] = batch{make([]float32, cfg.BatchSize*4), make([]float32, cfg.BatchSize*cfg.LatentDim)}
		data.Gather(rng.Perm(data.N)[:cfg.BatchSize], batches[i].real)
		for k := range batches[i].z {
			batches[i].z[k] = float32(rng.NormFloat64())
		}
	}
	train := func(devices int, steps []batch) (*Trainer, []StepMetrics) {
		c := cfg
		c.Devices = devices
		tr, err := New(b, c, bnGenerator, bnDiscriminator, data)
		if err != nil {
			t.Fatal(err)
		}
		var history []StepMetrics
		for _, s := range steps {
			m, err := tr.StepOn(s.real, s.z)
			if err != nil {
				t.Fatalf("Devices = %d: %v", devices, err)
			}
			history = append(history, m)
		}
		return tr, history
	}
	near := func(what string, got, want float64) { t.Helper(); testenv.Near(t, what, "one device", got, want, 1e-4) }
	plain, want := train(0, batches)
	wantVars := testenv.Variables(plain.Store())
	for _, devices := range []int{1, 2, 4} {
		if devices > b.NumDevices() {
			t.Logf("backend %q has %d device(s): not trained over %d", b.Name(), b.NumDevices(), devices)
			continue
		}
		parallel, got := train(devices, batches)
		for i := range want {
			near("D loss", got[i].DLoss, want[i].DLoss)
			near("G loss", got[i].GLoss, want[i].GLoss)
			near("D(x)", got[i].DReal, want[i].DReal)
			near("D(G(z)) after", got[i].DFakeAfter, want[i].DFakeAfter)
		}
		testenv.SameVariables(t, fmt.Sprintf("Devices = %d vs one device", devices), testenv.Variables(parallel.Store()), wantVars, 1e-4)
		t.Logf("Devices = %d on %q: 3 steps equal the one-device steps (last D loss %.6f, G loss %.6f)", devices, b.Name(),
			got[2].DLoss, got[2].GLoss)

		// A data-parallel checkpoint resumes on one device: one more step on each agrees.
		path := filepath.Join(t.TempDir(), "parallel.ckpt")
		if err := parallel.Save(path); err != nil {
			t.Fatal(err)
		}
		resumed, _ := train(0, nil)
		if err := resumed.Load(path); err != nil {
			t.Fatalf("loading a Devices = %d checkpoint on one device: %v", devices, err)
		}
		next := batches[0]
		m1, err1 := resumed.StepOn(next.real, next.z)
		m2, err2 := parallel.StepOn(next.real, next.z)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		near("resumed D loss", m1.DLoss, m2.DLoss)
		near("resumed G loss", m1.GLoss, m2.GLoss)
	}
}
