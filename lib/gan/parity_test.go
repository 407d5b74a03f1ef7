package gan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/internal/torchfix"
	"github.com/advlab/advlab/lib/models"
)

// TestThreeStepsMatchPyTorch trains each architecture for three full GAN steps from PyTorch's
// initial weights on PyTorch's batches (fixtures from scripts/fixtures/gan_steps.py) and requires
// the losses, D outputs and every weight and batch-norm statistic to match PyTorch's.
func TestThreeStepsMatchPyTorch(t *testing.T) {
	cases := map[string]models.GAN{
		"mlp": func() models.GAN {
			g := models.MLP(models.MLPConfig{GeneratorHidden: []int{16, 16, 32}, DiscriminatorHidden: []int{16, 16},
				TanhOutput: true}, 28, 28, 1)
			g.LatentDim = 10
			return g
		}(),
		"dcgan28": func() models.GAN {
			c := models.DCGAN28Tutorial
			c.Width, c.Dropout = 1.0/16, 0 // 16, 8, 4 channels in G; 4, 8 in D.
			g := models.DCGAN28(c)
			g.LatentDim = 10
			return g
		}(),
		"dcgan64": models.DCGAN64(models.DCGAN64Config{NZ: 8, NGF: 4, NDF: 4, Channels: 1}),
	}
	for name, arch := range cases {
		t.Run(name, func(t *testing.T) {
			fix, err := torchfix.Load(fmt.Sprintf("testdata/%s_3steps.tfx", name))
			if err != nil {
				t.Fatal(err)
			}
			batch, h, w, c := fix.Int("batch"), fix.Int("height"), fix.Int("width"), fix.Int("channels")
			adam := Adam{LearningRate: fix.Float("lr"), Beta1: fix.Float("beta1"), Beta2: fix.Float("beta2"), Epsilon: fix.Float("eps")}
			cfg := Config{LatentDim: fix.Int("latent"), BatchSize: batch, D: adam, G: adam, FixedNoise: 1}
			images := FloatImages{Values: make([]float32, batch*h*w*c), N: batch, Height: h, Width: w, Channels: c}
			tr, err := New(backend.MustNew(), cfg, arch.Generator, arch.Discriminator, images)
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for tensorName, value := range fix.Tensors {
				if path, ok := strings.CutPrefix(tensorName, "init:"); ok {
					if _, err := tr.Store().CreateVariable(path, value.ToTensor()); err != nil {
						t.Fatal(err)
					}
					paths = append(paths, path)
				}
			}
			want := fix.Get("metrics").Data
			for step := 0; step < fix.Int("steps"); step++ {
				m, err := tr.StepOn(fix.Get(fmt.Sprintf("real:%d", step)).Data, fix.Get(fmt.Sprintf("z:%d", step)).Data)
				if err != nil {
					t.Fatal(err)
				}
				got := []float64{m.DLoss, m.GLoss, m.DReal, m.DFakeBefore, m.DFakeAfter}
				for i, name := range []string{"D loss", "G loss", "D(x)", "D(G(z)) before", "D(G(z)) after"} {
					if diff := got[i] - float64(want[step*5+i]); diff > 1e-4 || diff < -1e-4 {
						t.Errorf("step %d %s: %.6f, PyTorch %.6f", step+1, name, got[i], want[step*5+i])
					}
				}
			}
			worst, worstPath := 0.0, ""
			for _, path := range paths {
				v := tr.Store().GetVariable(path)
				if v == nil || !v.HasValue() {
					t.Fatalf("variable %s missing after training", path)
				}
				got := mustFloats(t, v)
				final := fix.Get("final:" + path).Data
				initial := fix.Get("init:" + path).Data
				// Compare the change each step made (the update) as well as the value: a wrong gradient
				// can hide in a value that moves little in three steps at a small learning rate.
				if e := relChange(got, final, initial); e > worst {
					worst, worstPath = e, path
				}
			}
			t.Logf("%s: worst relative error of the weight updates after 3 steps: %.2e (%s)", name, worst, worstPath)
			if worst > 1e-3 {
				t.Errorf("%s: weights after 3 steps differ from PyTorch's: relative error of the update %.2e in %s", name, worst, worstPath)
			}
		})
	}
}

func mustFloats(t *testing.T, v *model.Variable) []float32 {
	t.Helper()
	value, err := v.Value()
	if err != nil {
		t.Fatal(err)
	}
	return tensorsFloats(value)
}

// relChange is max|Δgot − Δwant| / max|Δwant| with Δ the change from the initial value.
func relChange(got, want, initial []float32) float64 {
	var maxDiff, maxDelta float64
	for i := range want {
		dw := float64(want[i]) - float64(initial[i])
		dg := float64(got[i]) - float64(initial[i])
		if d := abs(dg - dw); d > maxDiff {
			maxDiff = d
		}
		if a := abs(dw); a > maxDelta {
			maxDelta = a
		}
	}
	if maxDelta == 0 {
		return maxDiff
	}
	return maxDiff / maxDelta
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
