package bench

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/models"
)

// dcgan64Weights counts pytorch/examples' DCGAN-64 kernels by hand at base width n (4x4 kernels,
// nz 100, one channel): G 100→8n→4n→2n→n→1, D 1→n→2n→4n→8n→1.
func dcgan64Weights(n int) map[string]int {
	return map[string]int{
		"generator":     16 * (100*8*n + 8*n*4*n + 4*n*2*n + 2*n*n + n),
		"discriminator": 16 * (n + n*2*n + 2*n*4*n + 4*n*8*n + 8*n),
	}
}

func TestLookupWorkloadVariants(t *testing.T) {
	base, err := LookupWorkload("dcgan64")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, canonical string
		batch, ngf      int
		flopsRatio      float64 // to the base workload's
	}{
		{"dcgan64/batch=128", "dcgan64/batch=128", 128, 64, 2},
		{"dcgan64/ngf=32/batch=16", "dcgan64/batch=16/ngf=32", 16, 32, 0},
		{"dcgan64/batch=64", "dcgan64", 64, 64, 1}, // the defaults given: the workload itself
	} {
		w, err := LookupWorkload(c.name)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if w.Name != c.canonical || w.Batch != c.batch || w.NGF != c.ngf || w.BaseName() != "dcgan64" {
			t.Errorf("%s: name %q batch %d ngf %d base %q, want %q %d %d dcgan64", c.name, w.Name, w.Batch, w.NGF, w.BaseName(),
				c.canonical, c.batch, c.ngf)
		}
		if !maps.Equal(w.Weights, dcgan64Weights(c.ngf)) {
			t.Errorf("%s: weights %v, want %v", c.name, w.Weights, dcgan64Weights(c.ngf))
		}
		if c.flopsRatio > 0 && w.FLOPs != c.flopsRatio*base.FLOPs {
			t.Errorf("%s: %.0f FLOPs, want %g x %.0f", c.name, w.FLOPs, c.flopsRatio, base.FLOPs)
		}
	}
	// Halving the width divides the convolutions' MACs by about 4 (the 1-channel ends by 2).
	if w, _ := LookupWorkload("dcgan64/ngf=32"); !(w.FLOPs > base.FLOPs/4 && w.FLOPs < base.FLOPs/3.5) {
		t.Errorf("dcgan64/ngf=32: %.3g FLOPs against %.3g at ngf 64, want about a quarter", w.FLOPs, base.FLOPs)
	}
	if w, _ := LookupWorkload("vae/batch=256"); w.Batch != 256 || w.Base != "vae" || w.Weights["model"] != 651_200 {
		t.Errorf("vae/batch=256: %+v", w)
	}
	for _, c := range []struct{ name, want string }{
		{"dcgan64/ngf=0", "ngf=0, want 1 to 512"},
		{"dcgan64/batch=5000", "batch=5000, want 1 to 4096"},
		{"dcgan28/ngf=32", `dcgan28 has no option "ngf" (it has: batch)`},
		{"vaal/batch=32", `vaal has no option "batch" (it has: none)`},
		{"ssl/batch=50", `ssl has no option "batch" (it has: none)`},
		{"dcgan64/width=32", `has no option "width" (it has: batch, ngf)`},
		{"dcgan64/batch=x", `option "batch=x" is not KEY=INTEGER`},
		{"dcgan64/batch=16/batch=32", "option batch given twice"},
		{"gan/batch=16", `unknown workload "gan/batch=16"`},
	} {
		if _, err := LookupWorkload(c.name); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LookupWorkload(%q) = %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestScalingWorkloads(t *testing.T) {
	names := ScalingWorkloads()
	want := []string{"dcgan64/batch=16", "dcgan64/batch=32", "dcgan64", "dcgan64/batch=128", "dcgan64/batch=256",
		"dcgan64/ngf=16", "dcgan64/ngf=32", "dcgan64/ngf=128"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("ScalingWorkloads = %v, want %v", names, want)
	}
	// A narrow variant builds lib/models' network at that width and trains one step.
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	w, err := LookupWorkload("dcgan64/batch=2/ngf=4")
	if err != nil {
		t.Fatal(err)
	}
	c := models.DCGAN64Tutorial
	c.NGF, c.NDF = 4, 4
	store, _, _, _, err := models.DCGAN64(c).Build()
	if err != nil {
		t.Fatal(err)
	}
	g, d := DCGAN64LayersWidth(4)
	checkLayers(t, store, "/generator", g)
	checkLayers(t, store, "/discriminator", d)
	stepOnce(t, b, w)
}

// TestScalingPlot draws the scaling figure of a report with both sweeps and refuses one without.
func TestScalingPlot(t *testing.T) {
	report := &Report{Columns: []ColumnInfo{{Column: Column{Name: "advlab"}}, {Column: Column{Name: "torch2", Peer: true}}}}
	for _, name := range ScalingWorkloads() {
		w, err := LookupWorkload(name)
		if err != nil {
			t.Fatal(err)
		}
		seconds := w.FLOPs / 20e9
		report.Workloads = append(report.Workloads, WorkloadResult{Workload: w, Columns: []ColumnResult{
			{Column: "advlab", Steps: &Timing{MedianSeconds: seconds}}, {Column: "torch2", Steps: &Timing{MedianSeconds: seconds / 2}}}})
	}
	charts, err := report.ScalingCharts()
	if err != nil {
		t.Fatal(err)
	}
	if len(charts) != 2 {
		t.Fatalf("%d charts, want 2 (batch, width)", len(charts))
	}
	for i, wantX := range [][]float64{{16, 32, 64, 128, 256}, {16, 32, 64, 128}} {
		chart := charts[i]
		if len(chart.Series) != 2 || chart.Series[1].Name != "torch2 (peer)" || !chart.LogX || !chart.LogY {
			t.Fatalf("chart %d: %+v", i, chart)
		}
		got := chart.Series[0].X
		if len(got) != len(wantX) {
			t.Fatalf("chart %d: X %v, want %v", i, got, wantX)
		}
		for j := range got {
			if got[j] != wantX[j] {
				t.Errorf("chart %d: X %v, want %v (sorted)", i, got, wantX)
			}
		}
		// Step time grows with the batch: twice the images, twice the FLOPs and (here) the time.
		if y := chart.Series[0].Y; i == 0 && (y[4]/y[0] < 15.9 || y[4]/y[0] > 16.1) {
			t.Errorf("batch 256 over batch 16: %.2f, want 16", y[4]/y[0])
		}
	}
	path := filepath.Join(t.TempDir(), "scaling.png")
	if err := report.SaveScalingPlot(path); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Size() < 10_000 {
		t.Errorf("scaling plot %s: %v, %d bytes", path, err, info.Size())
	}
	report.Workloads = report.Workloads[:3] // batches 16, 32, 64 only: no width sweep
	if _, err := report.ScalingCharts(); err == nil || !strings.Contains(err.Error(), "advlab bench -workloads scaling") {
		t.Errorf("a report without the width sweep: %v, want an error naming the command", err)
	}
}

// TestWorkerKilled: a worker that dies (here it kills itself with SIGKILL, as the out-of-memory
// killer would) is reported with how it ended, in its cell and in every later cell, and the other
// columns go on.
func TestWorkerKilled(t *testing.T) {
	script := `while read -r line; do case "$line" in
*'"info"'*) echo 'advlab-bench {"ok":true,"info":{}}';;
*'"setup"'*) echo 'advlab-bench {"ok":true,"seconds":[1]}';;
*'"steps"'*) kill -9 $$;;
*'"matmul"'*) echo 'advlab-bench {"ok":true,"seconds":[0.5]}';;
*'"release"'*) echo 'advlab-bench {"ok":true}';;
*'"quit"'*) exit 0;;
esac; done`
	healthy := strings.Replace(script, `kill -9 $$`, `echo 'advlab-bench {"ok":true,"seconds":[0.25]}'`, 1)
	report, err := Run(Options{Columns: []Column{{Name: "dies", Command: "/bin/sh", Args: []string{"-c", script}},
		{Name: "lives", Command: "/bin/sh", Args: []string{"-c", healthy}}},
		Workloads: []string{"vaal", "vaal"}, Rounds: 1, StepsPerBlock: 1, MatmulSize: 64, MatmulRuns: 1, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	first, second := report.Workloads[0].Columns[0].Error, report.Workloads[1].Columns[0].Error
	if !strings.Contains(first, "killed") || !strings.Contains(first, "out-of-memory") {
		t.Errorf("the killed worker's cell says %q, want how it ended", first)
	}
	if !strings.Contains(second, "not running") || !strings.Contains(second, "killed") {
		t.Errorf("the next cell of the killed worker says %q, want that it is not running and why", second)
	}
	if report.Workloads[1].Columns[1].Steps == nil {
		t.Errorf("the healthy column stopped too: %+v", report.Workloads[1].Columns[1])
	}
}

// TestRunSequential: with Sequential, each column runs every round of a workload (and releases it)
// before the next column sets it up; without, the columns alternate round by round.
func TestRunSequential(t *testing.T) {
	script := `while read -r line; do case "$line" in
*'"info"'*) echo 'advlab-bench {"ok":true,"info":{}}';;
*'"setup"'*) echo 'advlab-bench {"ok":true,"seconds":[1]}';;
*'"steps"'*) echo 'advlab-bench {"ok":true,"seconds":[0.5]}';;
*'"matmul"'*) echo 'advlab-bench {"ok":true,"seconds":[0.5]}';;
*'"release"'*) echo 'advlab-bench {"ok":true}';;
*'"quit"'*) exit 0;;
esac; done`
	order := func(sequential bool) string {
		var log strings.Builder
		report, err := Run(Options{Columns: []Column{{Name: "a", Command: "/bin/sh", Args: []string{"-c", script}},
			{Name: "b", Command: "/bin/sh", Args: []string{"-c", script}}}, Workloads: []string{"vaal"}, Rounds: 2,
			StepsPerBlock: 1, MatmulSize: 64, MatmulRuns: 1, Log: &log, Sequential: sequential})
		if err != nil {
			t.Fatal(err)
		}
		if report.Settings.Sequential != sequential || len(report.Workloads[0].Columns[1].Steps.Seconds) != 2 {
			t.Errorf("sequential %v: settings %+v, column b %+v", sequential, report.Settings, report.Workloads[0].Columns[1])
		}
		var got []string
		for _, line := range strings.Split(log.String(), "\n") {
			if f := strings.Fields(line); len(f) >= 5 && f[2] == "round" {
				got = append(got, f[4]) // "bench: vaal round 1/2: a 0.500s"
			} else if len(f) >= 3 && strings.HasSuffix(f[1], ":") && f[3] == "first" {
				got = append(got, "setup-"+f[2])
			}
		}
		return strings.Join(got, " ")
	}
	if got, want := order(true), "setup-a a a setup-b b b"; got != want {
		t.Errorf("sequential order %q, want %q", got, want)
	}
	if got, want := order(false), "setup-a setup-b a b a b"; got != want {
		t.Errorf("alternating order %q, want %q", got, want)
	}
}

func TestShortenPaths(t *testing.T) {
	r := &Report{Columns: []ColumnInfo{{Column: Column{Command: "/src/advlab/bin/advlab", Args: []string{"bench", "/src/advlab/x.py"}},
		Info: map[string]string{"backend": "xla:/home/u/.cache/advlab/pjrt/plugin.so,shared_buffers", "go": "go1.26"}}}}
	r.ShortenPaths("/src/advlab", "/home/u")
	c := r.Columns[0]
	if c.Command != "bin/advlab" || c.Args[1] != "x.py" || c.Info["backend"] != "xla:~/.cache/advlab/pjrt/plugin.so,shared_buffers" || c.Info["go"] != "go1.26" {
		t.Errorf("shortened: %+v", c)
	}
}
