package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advlab/advlab/internal/testenv"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/ssl"
)

func TestTrainSSLFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ssl"}, "-out DIR is required"},
		{[]string{"ssl", "-out", "x", "-labels", "15"}, "-labels 15: want a positive multiple of the 10 classes"},
		{[]string{"ssl", "-out", "x", "-dataset", "cifar10"}, `-dataset "cifar10": train ssl takes mnist or fashion`},
		{[]string{"ssl", "-out", "x", "-arch", "resnet"}, `unknown -arch "resnet"; valid: mlp, conv`},
		{[]string{"ssl", "-out", "x", "-batch", "1"}, "-batch 1: want an integer >= 2"},
		{[]string{"ssl", "-out", "x", "-average-rate", "0"}, "-average-rate 0: want a rate in (0, 1)"},
		{[]string{"ssl", "-out", "x", "-reference-average-rate", "1"}, "-reference-average-rate"},
	} {
		err := runTrain(tc.args)
		if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("advlab train %v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestTrainSSLSmoke runs `advlab train ssl -smoke` (2,000 training images, 20 steps) for both
// architectures when MNIST is in the data cache, checks what it writes, and resumes the mlp run to
// 2 epochs (40 steps) with -epochs, twice.
func TestTrainSSLSmoke(t *testing.T) {
	if _, err := data.LoadWith("mnist", data.Train, data.FetchOptions{Offline: true}); err != nil {
		testenv.Missing(t, "MNIST is not in the data cache, skipping the training smoke run: %v", err)
	}
	read := func(dir string) sslMetrics {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m sslMetrics
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, arch := range []string{"mlp", "conv"} {
		dir := filepath.Join(t.TempDir(), arch)
		if err := runTrain([]string{"ssl", "-smoke", "-arch", arch, "-out", dir}); err != nil {
			t.Fatal(err)
		}
		m := read(dir)
		if m.Steps != 20 || m.TestImages != 500 || len(m.Evaluations) != 2 || m.Labels != 100 ||
			m.TestError < 0 || m.TestError > 1 || float64(m.TestErrors)/500 != m.TestError {
			t.Errorf("%s: metrics %+v, want 20 steps, 2 evaluations, 500 test images and a consistent error", arch, m)
		}
		curve, err := ssl.ReadCurve(filepath.Join(dir, "curve.json"))
		if err != nil {
			t.Fatal(err)
		}
		if p := curve.Epochs; len(p) != 1 || p[0].Step != 20 || p[0].TestErrAv == nil || p[0].TestErrRefAv == nil ||
			p[0].TestErr != m.TestErrorCurrent || *p[0].TestErrAv != m.TestError ||
			!strings.HasSuffix(curve.Command, "-arch "+arch+" -out "+dir+" -resume") || strings.Contains(curve.Backend, os.Getenv("HOME")+"/") {
			t.Errorf("%s: curve %+v (epochs %+v), want epoch 1 at step 20 with both averages, the errors of metrics.json and a continuing command", arch, curve, p)
		}
		for _, name := range []string{"ssl.ckpt", "samples.png", "test_error.svg"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("%s: %v", arch, err)
			}
		}
		if arch != "mlp" {
			continue
		}
		// -epochs counts the whole run: the same command continues it to the same end, and says so
		// once it is there.
		for i := range 2 {
			if err := runTrain([]string{"ssl", "-smoke", "-arch", arch, "-epochs", "2", "-resume", "-out", dir}); err != nil {
				t.Fatal(err)
			}
			if m := read(dir); m.Steps != 40 {
				t.Errorf("resumed run (call %d) ends at step %d, want 40", i+1, m.Steps)
			}
			if curve, err := ssl.ReadCurve(filepath.Join(dir, "curve.json")); err != nil || len(curve.Epochs) != 2 || curve.Epochs[1].Epoch != 2 ||
				!strings.HasSuffix(curve.Command, "-epochs 2 -resume -out "+dir) {
				t.Errorf("resumed run's curve (call %d) %+v, %v: want the first run's epoch and the second's, and the command", i+1, curve, err)
			}
		}
		err = runTrain([]string{"ssl", "-smoke", "-steps", "5", "-epochs", "3", "-resume", "-out", dir})
		if err == nil || !strings.Contains(err.Error(), "-steps 5 and -epochs 3: give one of them") {
			t.Errorf("-steps with -epochs: %v, want a usage error naming both", err)
		}
	}
	dir := filepath.Join(t.TempDir(), "supervised")
	if err := runTrain([]string{"ssl", "-smoke", "-supervised", "-out", dir}); err != nil {
		t.Fatal(err)
	}
	if m := read(dir); !m.Supervised || m.Steps != 20 {
		t.Errorf("supervised smoke run: %+v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "samples.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the supervised baseline wrote samples.png (it has no generator): %v", err)
	}
}

// TestCurves plots two curve files and refuses a file that is not one, naming it and what is wrong.
func TestCurves(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, c ssl.Curve) string {
		raw, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	av, ref := 0.2, 0.3
	good := ssl.Curve{Format: ssl.CurveFormat, Implementation: "advlab", Seed: 1, Epochs: []ssl.CurvePoint{
		{Epoch: 1, Step: 600, TestErr: 0.25, TestErrAv: &av, TestErrRefAv: &ref}, {Epoch: 2, Step: 1200, TestErr: 0.1}}}
	a, b := write("a.json", good), write("b.json", good)
	out := filepath.Join(dir, "curves.png")
	if err := runCurves([]string{"-out", out, a, b}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(out); err != nil || st.Size() < 10000 {
		t.Errorf("curves.png: %v, %v; want a picture", st, err)
	}
	bad := good
	bad.Format = "other/1"
	backwards := good
	backwards.Epochs = []ssl.CurvePoint{{Epoch: 2}, {Epoch: 1}}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-out", out, write("bad.json", bad)}, `bad.json: format "other/1", want "advlab-ssl-curve/1"`},
		{[]string{"-out", out, write("back.json", backwards)}, "back.json: epochs[1]: epoch 1, want increasing epochs"},
		{[]string{"-out", out}, "no curve files"},
		{[]string{"-out", filepath.Join(dir, "x.svg"), a}, "-out FILE.png is required"},
		{[]string{"-out", out, a, "-log-y"}, "flag -log-y after the curve files"},
	} {
		if err := runCurves(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("curves %v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
