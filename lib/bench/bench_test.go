package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/models"
)

// The step FLOP counts, worked out by hand from the layer shapes (per image, multiply-accumulates):
//
//	DCGAN-28 G: 100·12544 + 7·7·(25·256)·128 + 7·7·(25·128)·64 + 14·14·(25·64)·1 = 51 744 000
//	DCGAN-28 D: 14·14·(25·1)·64 + 7·7·(25·64)·128 + 6272                      = 10 355 072
//	DCGAN-64 G: 100·16·512 + 3 · 33 554 432 + 32·32·(16·64)·1                  = 102 531 072
//	DCGAN-64 D: 32·32·16·64 + 3 · 33 554 432 + 16·512                          = 101 720 064
//	MLP VAE:    784·400 + 2·400·20 + 20·400 + 400·784                          = 651 200
func TestStepFLOPs(t *testing.T) {
	g28, d28 := DCGAN28Layers()
	g64, d64 := DCGAN64Layers()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"dcgan28 G MACs", totalMACs(g28), 51_744_000},
		{"dcgan28 D MACs", totalMACs(d28), 10_355_072},
		{"dcgan64 G MACs", totalMACs(g64), 102_531_072},
		{"dcgan64 D MACs", totalMACs(d64), 101_720_064},
		{"vae MACs", totalMACs(MLPVAELayers()), 651_200},
		{"dcgan28 step", GANStepFLOPs(g28, d28, 64), 2 * 64 * (3*51_744_000 + 9*10_355_072)},
		{"vae step", VAEStepFLOPs(MLPVAELayers(), 128), 2 * 128 * 3 * 651_200},
		// SSL: G 692 000, D 1 536 500 MACs per image; G 4 passes, D 12 (see SSLStepFLOPs).
		{"ssl step", SSLStepFLOPs(SSLLayers()), 2 * 100 * (4*692_000 + 12*1_536_500)},
		{"matmul 2048", MatmulFLOPs(2048), 17_179_869_184},
		// VAAL: E = 339 200, Dec = 326 400, A = 279 040 MACs per image.
		{"vaal round", VAALRoundFLOPs(25, 64, 2000), 2 * (25*128*(6*(339_200+326_400+279_040)+339_200+3*279_040) + 2000*(339_200+279_040))},
	} {
		if c.got != c.want {
			t.Errorf("%s = %.0f, want %.0f", c.name, c.got, c.want)
		}
	}
}

// checkLayers verifies that every counted layer exists in the built network with weights whose
// count times the layer's positions gives its MACs, and that no weight matrix was left uncounted.
func checkLayers(t *testing.T, store *model.Store, root string, layers []Layer) {
	t.Helper()
	weights := map[string]int{}
	for v := range store.Scope(root).IterVariables() {
		if v.Name() == "weights" || v.Name() == "weights_v" { // weights_v: a weight-normalised layer's direction
			weights[v.Scope()] = v.Shape().Size()
		}
	}
	for _, l := range layers {
		size, found := weights[root+"/"+l.Name]
		if !found {
			t.Errorf("%s/%s (%s) has no weights in lib/models' network; have %v", root, l.Name, l.Shape, weights)
			continue
		}
		if got := float64(l.Positions) * float64(size); got != l.MACs {
			t.Errorf("%s/%s: %d positions x %d weights = %.0f MACs, counted %.0f", root, l.Name, l.Positions, size, got, l.MACs)
		}
		delete(weights, root+"/"+l.Name)
	}
	if len(weights) > 0 {
		t.Errorf("%s: weights not counted in the FLOPs: %v", root, weights)
	}
}

// TestLayersMatchModels ties the FLOP tables to lib/models' real networks.
func TestWorkloadWeights(t *testing.T) {
	// Hand-counted kernels: the tutorial's DCGAN-28 (dense 100→7·7·256, 5x5 transposed convs
	// 256→128→64→1; 5x5 convs 1→64→128, dense 6272→1), pytorch/examples' DCGAN-64 (4x4 kernels),
	// pytorch/examples' VAE (784-400-20-400-784 with the two 400→20 heads).
	want := map[string]map[string]int{
		"dcgan28": {"generator": 100*12544 + 25*256*128 + 25*128*64 + 25*64, "discriminator": 25*64 + 25*64*128 + 6272},
		"dcgan64": {"generator": 16 * (100*512 + 512*256 + 256*128 + 128*64 + 64), "discriminator": 16 * (64 + 64*128 + 128*256 + 256*512 + 512)},
		"vae":     {"model": 784*400 + 2*400*20 + 20*400 + 400*784},
		// openai/improved-gan's MNIST model: G 100-500-500-784, D 784-1000-500-250-250-250-10.
		"ssl": {"generator": 100*500 + 500*500 + 500*784, "discriminator": 784*1000 + 1000*500 + 500*250 + 2*250*250 + 250*10},
	}
	for _, w := range Workloads() {
		if !maps.Equal(w.Weights, want[w.Name]) {
			t.Errorf("%s: weights %v, want %v", w.Name, w.Weights, want[w.Name])
		}
	}
}

func TestLayersMatchModels(t *testing.T) {
	g28, d28 := DCGAN28Layers()
	g64, d64 := DCGAN64Layers()
	gSSL, dSSL := SSLLayers()
	for _, c := range []struct {
		gan  models.GAN
		g, d []Layer
	}{
		{models.DCGAN28(models.DCGAN28Tutorial), g28, d28},
		{models.DCGAN64(models.DCGAN64Tutorial), g64, d64},
		{models.ImprovedGANMNIST(), gSSL, dSSL},
	} {
		store, _, _, _, err := c.gan.Build()
		if err != nil {
			t.Fatal(err)
		}
		checkLayers(t, store, "/generator", c.g)
		checkLayers(t, store, "/discriminator", c.d)
	}

	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	v := models.MLPVAE(models.MLPVAEPyTorch)
	store := model.NewStore()
	_, err = model.CallOnceN(b, store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		mu, _ := v.Encoder(store.Scope("/vae"), x)
		return []*graph.Node{v.Decoder(store.Scope("/vae"), mu)}
	}, tensors.FromShape(shapes.Make(dtypes.Float32, 2, 28, 28, 1)))
	if err != nil {
		t.Fatal(err)
	}
	checkLayers(t, store, "/vae", MLPVAELayers())
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %g, want %g", c.in, got, c.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
}

func TestSummarize(t *testing.T) {
	s := summarize([]float64{2, 1, 4}, 8e9, 8)
	if s.MedianSeconds != 2 || s.BestSeconds != 1 || s.PerSecond != 0.5 || s.MedianGFLOPs != 4 || s.BestGFLOPs != 8 ||
		s.PeakFraction != 0.5 {
		t.Errorf("summarize = %+v", s)
	}
}

// TestServe drives the Go worker through the protocol on the test backend: the VAE workload (a
// small graph), a block of steps, a small matmul, and the error answers.
func TestServe(t *testing.T) {
	b, choice, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	requests := strings.Join([]string{
		`{"cmd": "info"}`,
		`{"cmd": "steps", "n": 1}`,
		`{"cmd": "setup", "workload": "vae"}`,
		`{"cmd": "steps", "n": 2}`,
		`{"cmd": "release"}`,
		`{"cmd": "matmul", "size": 64, "n": 2}`,
		`{"cmd": "setup", "workload": "dcgan32"}`,
		`{"cmd": "nonsense"}`,
		`{"cmd": "quit"}`,
		`{"cmd": "info"}`, // after quit: never answered
	}, "\n")
	var out bytes.Buffer
	if err := Serve(strings.NewReader(requests), &out, b, choice.Config); err != nil {
		t.Fatal(err)
	}
	var responses []Response
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		rest, found := strings.CutPrefix(line, ResponsePrefix)
		if !found {
			t.Fatalf("response line without the prefix: %q", line)
		}
		var r Response
		if err := json.Unmarshal([]byte(rest), &r); err != nil {
			t.Fatal(err)
		}
		responses = append(responses, r)
	}
	if len(responses) != 8 {
		t.Fatalf("got %d responses, want 8: %s", len(responses), out.String())
	}
	checks := []struct {
		ok      bool
		seconds int
	}{{true, 0}, {false, 0}, {true, 1}, {true, 2}, {true, 0}, {true, 2}, {false, 0}, {false, 0}}
	for i, c := range checks {
		r := responses[i]
		if r.OK != c.ok || len(r.Seconds) != c.seconds {
			t.Errorf("response %d = %+v, want ok=%v with %d timings", i, r, c.ok, c.seconds)
		}
		for _, s := range r.Seconds {
			if !(s > 0) {
				t.Errorf("response %d: timing %g, want > 0", i, s)
			}
		}
	}
	if responses[0].Info["side"] != "go" || responses[0].Info["backend"] != choice.Config {
		t.Errorf("info = %v", responses[0].Info)
	}
	if !strings.Contains(responses[6].Error, `unknown workload "dcgan32"`) {
		t.Errorf("the setup error %q does not name the unknown workload", responses[6].Error)
	}
}

// TestRunWithFakeWorkers runs the orchestration end to end with two scripted workers (shell
// scripts answering fixed timings), so that alternation, medians, ratios and the table are checked
// without training anything.
func TestRunWithFakeWorkers(t *testing.T) {
	fake := func(step, matmul, generatorWeights string) Column {
		script := `while read -r line; do case "$line" in
*'"info"'*) echo 'advlab-bench {"ok":true,"info":{"backend":"fake"}}';;
*'"setup"'*) echo 'noise a library printed'; echo 'advlab-bench {"ok":true,"seconds":[9],"weights":{"generator":` + generatorWeights + `,"discriminator":212672}}';;
*'"steps"'*) echo 'advlab-bench {"ok":true,"seconds":[` + step + `,` + step + `]}';;
*'"matmul"'*) echo 'advlab-bench {"ok":true,"seconds":[` + matmul + `]}';;
*'"release"'*) echo 'advlab-bench {"ok":true}';;
*'"quit"'*) exit 0;;
esac; done`
		return Column{Command: "/bin/sh", Args: []string{"-c", script}}
	}
	// DCGAN-28's generator has 2,280,000 matrix weights (100·7·7·256 + 25·256·128 + 25·128·64 + 25·64).
	goColumn, torchColumn, jaxColumn := fake("0.5", "0.25", "0"), fake("0.25", "0.125", "2280000"), fake("0.4", "0.125", "2280000")
	goColumn.Name, torchColumn.Name, torchColumn.Peer = "advlab", "torch", true
	jaxColumn.Name, jaxColumn.Peer = "jax", true
	other := fake("0.1", "0.125", "2279999") // a faster peer timing a different generator
	other.Name, other.Peer = "other", true
	broken := Column{Name: "broken", Command: "/nonexistent/worker"}
	missing := Column{Name: "tf2", Peer: true, Command: "/nonexistent/python", Unavailable: "not installed: unreachable: index"}
	report, err := Run(Options{Columns: []Column{goColumn, torchColumn, broken, jaxColumn, missing, other},
		Workloads: []string{"dcgan28", "vaal"}, Rounds: 2, StepsPerBlock: 2, MatmulSize: 1024, MatmulRuns: 1, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if report.Columns[2].Error == "" {
		t.Error("the broken column has no error")
	}
	if got := report.Columns[4].Error; got != missing.Unavailable {
		t.Errorf("the uninstalled peer's error is %q, want its reason %q", got, missing.Unavailable)
	}
	if got := report.Columns[0].Matmul.BestGFLOPs; math.Abs(got-MatmulFLOPs(1024)/0.25/1e9) > 1e-9 {
		t.Errorf("matmul peak %g", got)
	}
	w := report.Workloads[0]
	goResult, torchResult, jaxResult := w.Columns[0], w.Columns[1], w.Columns[3]
	// torch (0.25 s) is the faster peer: advlab's 0.5 s is 2x its time, jax's 0.4 s 1.6x.
	if w.BestPeer != "torch" || len(goResult.Steps.Seconds) != 4 || goResult.FirstStepSeconds != 9 ||
		goResult.RatioToBestPeer != 2 || goResult.ImagesPerSecond != 128 || torchResult.RatioToBestPeer != 1 ||
		math.Abs(jaxResult.RatioToBestPeer-1.6) > 1e-12 {
		t.Errorf("best peer %q; advlab column %+v (steps %+v), torch column %+v, jax column %+v", w.BestPeer,
			goResult, goResult.Steps, torchResult, jaxResult)
	}
	if got := w.Columns[4].Error; !strings.Contains(got, "unreachable: index") {
		t.Errorf("the uninstalled peer's cell says %q, want the reason", got)
	}
	if got := w.Columns[5]; got.Steps != nil || !strings.Contains(got.Error, "generator has 2279999 matrix weights, advlab's 2280000") {
		t.Errorf("the peer with another generator was timed or not refused clearly: %+v", got)
	}
	if got := report.Workloads[1].Columns[5]; got.Steps == nil { // vaal: no weights to compare
		t.Errorf("the VAAL round was not timed in the other peer: %+v", got)
	}
	var table strings.Builder
	if err := report.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dcgan28", "2.00x", "1.00x (best peer)", "1.60x", "vaal", "broken", "not installed: unreachable"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestVAALRoundWorkload runs one VAAL round of the "vaal" workload: it trains and selects
// VAALBudget images (the stepper checks the count).
func TestVAALRoundWorkload(t *testing.T) {
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	w, err := LookupWorkload("vaal")
	if err != nil {
		t.Fatal(err)
	}
	stepOnce(t, b, w)
}

// stepOnce prepares workload w on b and runs one step of it.
func stepOnce(t *testing.T, b compute.Backend, w Workload) {
	t.Helper()
	step, err := NewStepper(b, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := step(); err != nil {
		t.Fatal(err)
	}
}

func TestDescribeNotebookStages(t *testing.T) {
	latency := `{"notebook": "00_setup.ipynb", "kernel_start_seconds": 0.43,
		"cells": [{"label": "cell 1", "seconds": 1.36}, {"label": "cell 2", "seconds": 1.35}],
		"gonb_stages": [{"label": "cell 2", "stages": {"to the kernel": 0.002, "parse": 0.001, "goimports": 0.166, "go build": 1.03, "run": 0.032}}],
		"gonb_stages_without_goflags": [{"label": "cell 2", "stages": {"goimports": 0.213, "go build": 2.061, "run": 0.039}}]}`
	got := describeNotebook(json.RawMessage(latency))
	for _, want := range []string{"00_setup.ipynb, warm: kernel start 0.4s; cell 1 1.4s; cell 2 1.4s",
		"GoNB stages of cell 2: goimports 0.17s, go build 1.03s (2.06s without the kernel's GOFLAGS=-ldflags=-s), run 0.03s"} {
		if !strings.Contains(got, want) {
			t.Errorf("describeNotebook = %q, want it to contain %q", got, want)
		}
	}
}

func TestDescribeJupyterLab(t *testing.T) {
	latency := `{"measured": "2026-12-06T19:55:30Z", "ui": "JupyterLab", "cells": [],
		"firstAdvlabCell": {"toOutput": 2.81, "toEnd": 2.82},
		"smallCell": {"runs": [0.40, 0.41, 0.46, 0.49, 2.52], "median": 0.46}}`
	got := describeJupyterLab(json.RawMessage(latency))
	for _, want := range []string{"first cell importing advlab 2.81s", "a cell that prints a value 0.46s (median of 5)"} {
		if !strings.Contains(got, want) {
			t.Errorf("describeJupyterLab = %q, want it to contain %q", got, want)
		}
	}
	if got := describeJupyterLab(json.RawMessage(`{"cells": []}`)); !strings.Contains(got, "no 00_setup timings") {
		t.Errorf("a check that stopped early: %q", got)
	}
	var table strings.Builder
	if err := (&Report{JupyterLab: json.RawMessage(latency)}).WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "JupyterLab latency: Shift+Enter to output in the browser, warm: first cell importing advlab 2.81s") {
		t.Errorf("the table does not carry the JupyterLab line:\n%s", table.String())
	}
}
