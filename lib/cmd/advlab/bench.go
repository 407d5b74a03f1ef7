package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/bench"
)

func init() {
	register("bench", "time training steps next to PyTorch: advlab bench [-quick] [-out FILE] (see `advlab bench -h`)", runBench)
}

// peerEnv gives every peer the same cores and threads: OMP_NUM_THREADS (default all CPUs), one BLAS
// thread (BLAS threads on top of intra-op threads oversubscribe the cores), and passive OpenMP
// waiting. OpenMP threads that spin while they wait (GNU OpenMP's default) make every parallel
// region wait out a scheduler time slice when another process holds a core: up to 10x slower
// steps on a shared machine (docs/performance.md).
func peerEnv() []string {
	get := func(name, fallback string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return fallback
	}
	return []string{"OMP_NUM_THREADS=" + get("OMP_NUM_THREADS", strconv.Itoa(bench.NumCPU())),
		"OPENBLAS_NUM_THREADS=" + get("OPENBLAS_NUM_THREADS", "1"), "OMP_WAIT_POLICY=" + get("OMP_WAIT_POLICY", "PASSIVE")}
}

// peerColumns lists the other frameworks' columns: PyTorch 2 eager and torch.compile, TensorFlow 2
// and JAX/Flax from the virtual environments under dir (a missing one is reported with the reason
// its install left in dir/NAME.status), and a system PyTorch (python; "auto": Debian's, only
// where the peers' PyTorch is missing).
func peerColumns(dir, python, scripts string, torchArgs []string) []bench.Column {
	var columns []bench.Column
	torchInstalled := false
	if dir != "" {
		for _, p := range []struct {
			name, venv, script string
			args               []string
		}{
			{"torch2", "torch", "torch_bench.py", torchArgs},
			{"torch2-compile", "torch", "torch_bench.py", append([]string{"--compile"}, torchArgs...)},
			{"tf2", "tf", "tf_bench.py", nil},
			{"jax", "jax", "jax_bench.py", nil},
		} {
			column := bench.Column{Name: p.name, Peer: true, Command: filepath.Join(dir, p.venv, "bin", "python"),
				Args: append([]string{filepath.Join(scripts, p.script), "--serve"}, p.args...), Env: peerEnv()}
			// The marker is written last by peers.sh: a venv without it is half-installed.
			if _, err := os.Stat(filepath.Join(dir, p.venv, ".advlab-pins")); err != nil {
				column.Unavailable = peerMissing(dir, p.venv)
			} else if p.venv == "torch" {
				torchInstalled = true
			}
			columns = append(columns, column)
		}
	}
	if python == "auto" {
		python = ""
		if _, err := os.Stat("/usr/bin/python3"); err == nil && !torchInstalled {
			python = "/usr/bin/python3"
		}
	}
	if python != "" {
		columns = append(columns, bench.Column{Name: "torch (system)", Peer: true, Command: python,
			Args: append([]string{filepath.Join(scripts, "torch_bench.py"), "--serve"}, torchArgs...), Env: peerEnv()})
	}
	return columns
}

// peerMissing says why a peer's virtual environment is missing, from its install's status file.
func peerMissing(dir, venv string) string {
	status, err := os.ReadFile(filepath.Join(dir, venv+".status"))
	if err != nil || strings.TrimSpace(string(status)) == "" {
		return fmt.Sprintf("not installed (%s; scripts/bench/peers.sh installs it)", filepath.Join(dir, venv))
	}
	return "not installed: " + strings.TrimSpace(string(status))
}

// runBench runs the benchmark (lib/bench), a worker of it (-worker), or a CPU profile (-cpuprofile).
func runBench(args []string) error {
	fs := newFlags("bench", "bench [-quick] [-out build/bench.json] [-also onnx:cpu] [-workloads dcgan28,vae] [flags]")
	quick := fs.Bool("quick", false, "smoke run: one round of one step per column, a 512³ matmul")
	out := fs.String("out", "build/bench.json", "write the JSON report here (empty: do not write)")
	rounds := fs.Int("rounds", 0, "alternation rounds (0: 4, or 1 with -quick)")
	steps := fs.Int("steps", 0, "steps per column per round (0: 3, or 1 with -quick)")
	workloads := fs.String("workloads", "", "comma-separated workloads (default all: dcgan28,dcgan64,vae,ssl,vaal), variants of them at another batch or width (dcgan64/batch=128/ngf=32), \"all\", or \"scaling\" (DCGAN-64 at batches 16-256 and widths 16-128)")
	plotPath := fs.String("plot", "", "draw the DCGAN-64 scaling plot (step time against batch and width) of the run, or of the -table report, into this PNG")
	bestPeerOf := fs.String("best-peer", "", "time only the peer that was fastest in this earlier JSON report, on the workloads' base (dcgan64 for the scaling variants)")
	matmul := fs.Int("matmul", 0, "matrix size of the peak measurement (0: 2048, or 512 with -quick)")
	also := fs.String("also", "", "comma-separated further GOMLX_BACKEND values to time as extra columns (e.g. onnx:cpu)")
	peers := fs.String("peers", "build/peers", "the folder of the peers' virtual environments (scripts/bench/peers.sh): torch, tf and jax (empty: no peers)")
	python := fs.String("python", "auto", "a Python with PyTorch for a further \"torch (system)\" column: auto (Debian's /usr/bin/python3, only when the peers' PyTorch is not installed), a path, or empty for none")
	scripts := fs.String("scripts", "scripts/bench", "the folder of the peers' worker scripts")
	torchDevice := fs.String("torch-device", "cpu", "the PyTorch columns' device: cpu, or cuda[:N] (a CUDA build of torch >= 2.0) next to an XLA CUDA backend")
	torchTF32 := fs.Bool("torch-tf32", false, "CUDA: let PyTorch's convolutions and products use TF32 (compare with XLA's default tf32=true)")
	notebook := fs.String("notebook", "", "a JSON file from scripts/bench/notebook_latency.py to include in the report")
	lab := fs.String("lab", "", "a latency.json from kernel/harness/lab_check.sh (JupyterLab, timed in the browser) to include in the report")
	sequential := fs.Bool("sequential", false, "run each workload in one column at a time (set up, every round, released) instead of alternating the columns: for workloads too large for every column to hold in memory at once")
	strict := fs.Bool("strict", false, "fail unless every column and cell ran (a peer the index could not serve, or a workload a peer does not implement, is allowed)")
	worker := fs.Bool("worker", false, "internal: serve the worker protocol on stdin/stdout")
	cpuProfile := fs.String("cpuprofile", "", "profile -profile-steps steps of -profile in this process (after the first step) into this file, and exit")
	profileWorkload := fs.String("profile", "dcgan28", "the workload -cpuprofile profiles")
	profileSteps := fs.Int("profile-steps", 1, "the number of steps -cpuprofile profiles")
	table := fs.String("table", "", "print the table of a JSON report written earlier, and exit")
	timeout := fs.Duration("timeout", 10*time.Minute, "the longest one worker request (a setup or a block of steps) may take")
	if err := parseOptions(fs, args, atLeast("rounds", 0), atLeast("steps", 0), atLeast("matmul", 1).orZero("2048, or 512 with -quick"),
		atLeast("profile-steps", 1), above("timeout", 0)); err != nil {
		return err
	}
	if *worker {
		b, choice, err := backend.New()
		if err != nil {
			return err
		}
		return bench.Serve(os.Stdin, os.Stdout, b, choice.Config)
	}
	if *table != "" {
		content, err := os.ReadFile(*table)
		if err != nil {
			return err
		}
		var report bench.Report
		if err := json.Unmarshal(content, &report); err != nil {
			return fmt.Errorf("-table %s: %w", *table, err)
		}
		if err := report.WriteTable(os.Stdout); err != nil {
			return err
		}
		return savePlot(&report, *plotPath)
	}
	if *cpuProfile != "" {
		return profileBench(*cpuProfile, *profileWorkload, *profileSteps)
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	columns := []bench.Column{{Name: "advlab", Command: self, Args: []string{"bench", "-worker"}}}
	torchArgs := []string{"--device", *torchDevice}
	if *torchTF32 {
		torchArgs = append(torchArgs, "--tf32")
	}
	names, err := expandWorkloads(*workloads)
	if err != nil {
		return err
	}
	peerCols := peerColumns(*peers, *python, *scripts, torchArgs)
	if *bestPeerOf != "" {
		if peerCols, err = keepBestPeer(peerCols, *bestPeerOf, names); err != nil {
			return err
		}
	}
	columns = append(columns, peerCols...)
	for _, config := range splitList(*also) {
		columns = append(columns, bench.Column{Name: "advlab@" + config, Command: self, Args: []string{"bench", "-worker"},
			Env: []string{backend.EnvVar + "=" + config}})
	}

	opts := bench.Options{Columns: columns}
	if *quick {
		opts = bench.QuickOptions(columns)
	}
	if *rounds > 0 {
		opts.Rounds = *rounds
	}
	if *steps > 0 {
		opts.StepsPerBlock = *steps
	}
	if *matmul > 0 {
		opts.MatmulSize = *matmul
	}
	opts.Workloads = names
	opts.Sequential = *sequential
	opts.Timeout = *timeout

	report, runErr := bench.Run(opts)
	if report == nil {
		return runErr
	}
	for _, f := range []struct {
		flag, path string
		into       *json.RawMessage
	}{{"-notebook", *notebook, &report.Notebook}, {"-lab", *lab, &report.JupyterLab}} {
		if f.path == "" {
			continue
		}
		content, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("%s: reading the latency file: %w", f.flag, err)
		}
		if !json.Valid(content) {
			return fmt.Errorf("%s: %s is not JSON", f.flag, f.path)
		}
		*f.into = json.RawMessage(content)
	}
	fmt.Println()
	if err := report.WriteTable(os.Stdout); err != nil {
		return err
	}
	if *out != "" {
		// The report names no path of this machine: it is meant to be shared (docs/bench).
		dir, _ := os.Getwd()
		home, _ := os.UserHomeDir()
		report.ShortenPaths(dir, home)
		encoded, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(encoded, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Printf("\nwrote %s\n", *out)
	}
	if runErr == nil && *strict {
		runErr = strictCheck(report)
	}
	if runErr == nil {
		runErr = savePlot(report, *plotPath)
	}
	return runErr
}

// expandWorkloads turns the -workloads flag into workload names: "all" stands for every workload,
// "scaling" for bench.ScalingWorkloads; every name is checked (a typo fails before any worker
// starts). Empty: nil, every workload.
func expandWorkloads(flag string) ([]string, error) {
	var names []string
	for _, item := range splitList(flag) {
		switch item {
		case "all":
			for _, w := range bench.Workloads() {
				names = append(names, w.Name)
			}
		case "scaling":
			names = append(names, bench.ScalingWorkloads()...)
		default:
			w, err := bench.LookupWorkload(item)
			if err != nil {
				return nil, usageError("-workloads: %v", err)
			}
			names = append(names, w.Name)
		}
	}
	return names, nil
}

// keepBestPeer keeps, of the peer columns, only those that were the fastest peer (BestPeer) in the
// report at path for the base of one of the workloads to time.
func keepBestPeer(columns []bench.Column, path string, workloads []string) ([]bench.Column, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-best-peer: %w", err)
	}
	var report bench.Report
	if err := json.Unmarshal(content, &report); err != nil {
		return nil, fmt.Errorf("-best-peer %s: not a bench report: %w", path, err)
	}
	if len(workloads) == 0 {
		for _, w := range bench.Workloads() {
			workloads = append(workloads, w.Name)
		}
	}
	best := map[string]bool{}
	var bases []string
	for _, name := range workloads {
		w, err := bench.LookupWorkload(name)
		if err != nil {
			return nil, err
		}
		base := w.BaseName()
		bases = append(bases, base)
		for _, row := range report.Workloads {
			if row.Workload.Name == base && row.BestPeer != "" {
				best[row.BestPeer] = true
			}
		}
	}
	var kept []bench.Column
	for _, c := range columns {
		if best[c.Name] {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("-best-peer %s: no peer column of this run was the fastest peer of %s there (best peers: %v)",
			path, strings.Join(slices.Compact(slices.Sorted(slices.Values(bases))), ", "), slices.Sorted(maps.Keys(best)))
	}
	return kept, nil
}

// savePlot draws the report's scaling plot into path (nothing when path is empty).
func savePlot(report *bench.Report, path string) error {
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := report.SaveScalingPlot(path); err != nil {
		return fmt.Errorf("-plot %s: %w", path, err)
	}
	fmt.Printf("wrote %s\n", path)
	return nil
}

// strictCheck returns an error naming every column and cell of the report that did not run, other
// than a peer whose install found the package index unreachable and a workload a peer does not
// implement (TensorFlow's column has only the tutorial's DCGAN-28).
func strictCheck(report *bench.Report) error {
	var failed []string
	for _, c := range report.Columns {
		if c.Error != "" && !strings.HasPrefix(c.Error, "not installed: unreachable:") {
			failed = append(failed, fmt.Sprintf("column %s: %s", c.Name, c.Error))
		}
	}
	for _, w := range report.Workloads {
		for i, c := range w.Columns {
			if c.Error != "" && report.Columns[i].Error == "" && !strings.Contains(c.Error, bench.NotImplemented) {
				failed = append(failed, fmt.Sprintf("%s in %s: %s", w.Workload.Name, c.Column, c.Error))
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bench -strict: %d part(s) did not run:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return nil
}

// profileBench runs the first (compiling) step of a workload, then writes a CPU profile of the
// next steps to path.
func profileBench(path, workloadName string, steps int) error {
	w, err := bench.LookupWorkload(workloadName)
	if err != nil {
		return usageError("%v", err)
	}
	b, choice, err := backend.New()
	if err != nil {
		return err
	}
	step, err := bench.NewStepper(b, w)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := step(); err != nil {
		return err
	}
	fmt.Printf("%s on %s: first step (compilation included) %.2fs\n", w.Name, choice, time.Since(start).Seconds())
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	for i := range max(steps, 1) {
		start := time.Now()
		if err := step(); err != nil {
			pprof.StopCPUProfile()
			return err
		}
		fmt.Printf("profiled step %d: %.3fs\n", i+1, time.Since(start).Seconds())
	}
	pprof.StopCPUProfile()
	fmt.Printf("wrote %s (read it with: go tool pprof -top %s)\n", path, path)
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var items []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}
