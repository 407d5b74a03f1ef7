package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of a Run, written as JSON (build/bench.json) and as a table.
type Report struct {
	// Started and Finished bound the run (UTC).
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Machine describes the CPU.
	Machine Machine `json:"machine"`
	// Load is the load average before, during and after the run.
	Load LoadSummary `json:"load"`
	// Settings are the run's options.
	Settings Settings `json:"settings"`
	// Columns are the compared workers, with their matmul peaks.
	Columns []ColumnInfo `json:"columns"`
	// Workloads hold the step timings, one entry per column.
	Workloads []WorkloadResult `json:"workloads"`
	// Notebook is the notebook latency measurement, when one was given (see
	// scripts/bench/notebook_latency.py); it is copied as is.
	Notebook json.RawMessage `json:"notebook,omitempty"`
	// JupyterLab is the latency measured from a browser in JupyterLab, when one was given (the
	// latency.json of kernel/harness/lab_check.sh); it is copied as is.
	JupyterLab json.RawMessage `json:"jupyterlab,omitempty"`
}

// Settings records how a Run was configured.
type Settings struct {
	Rounds        int `json:"rounds"`
	StepsPerBlock int `json:"steps_per_block"`
	MatmulSize    int `json:"matmul_size"`
	MatmulRuns    int `json:"matmul_runs"`
	// Sequential: each workload ran in one column at a time instead of alternating (Options).
	Sequential bool `json:"sequential,omitempty"`
}

// ColumnInfo describes one column: its worker, what the worker reported about itself, and its
// matmul peak.
type ColumnInfo struct {
	Column
	// Info is the worker's answer to "info" (backend, versions, threads).
	Info map[string]string `json:"info,omitempty"`
	// Error says why the column could not run at all.
	Error string `json:"error,omitempty"`
	// Matmul times the n×n×n float32 product; its BestGFLOPs is the column's peak.
	Matmul *Timing `json:"matmul,omitempty"`
	// MatmulError says why the product could not be timed.
	MatmulError string `json:"matmul_error,omitempty"`
}

// WorkloadResult holds one workload's timings in every column.
type WorkloadResult struct {
	Workload Workload       `json:"workload"`
	Columns  []ColumnResult `json:"columns,omitempty"`
	// BestPeer names the peer column with the lowest median step time (empty: no peer was timed).
	BestPeer string `json:"best_peer,omitempty"`
}

// ColumnResult is one workload in one column.
type ColumnResult struct {
	// Column is the column's name.
	Column string `json:"column"`
	// FirstStepSeconds is the wall time of the first step, graph compilation included.
	FirstStepSeconds float64 `json:"first_step_seconds,omitempty"`
	// Steps summarises the timed steps after the first.
	Steps *Timing `json:"steps,omitempty"`
	// ImagesPerSecond is the batch size over the median step time.
	ImagesPerSecond float64 `json:"images_per_second,omitempty"`
	// RatioToBestPeer is this column's median step time over the best peer's (> 1: slower than
	// the fastest other framework; the best peer itself has 1).
	RatioToBestPeer float64 `json:"ratio_to_best_peer,omitempty"`
	// Error says why the workload could not run in this column.
	Error string `json:"error,omitempty"`
}

// Machine describes the CPU the benchmark ran on.
type Machine struct {
	CPUModel string `json:"cpu_model"`
	// CPUs is the number of logical CPUs.
	CPUs int `json:"cpus"`
	// AVX2 and AVX512F report the CPU's vector extensions (/proc/cpuinfo flags).
	AVX2    bool   `json:"avx2"`
	AVX512F bool   `json:"avx512f"`
	OS      string `json:"os"`
}

// DescribeMachine reads the CPU model and flags from /proc/cpuinfo (Linux; empty elsewhere).
func DescribeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return m
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<16), 1<<20)
	for scanner.Scan() {
		key, value, found := strings.Cut(scanner.Text(), ":")
		if !found {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch key {
		case "model name":
			if m.CPUModel == "" {
				m.CPUModel = value
			}
		case "flags":
			for _, flag := range strings.Fields(value) {
				m.AVX2 = m.AVX2 || flag == "avx2"
				m.AVX512F = m.AVX512F || flag == "avx512f"
			}
		}
	}
	return m
}

// LoadSummary is the machine's load average around and during a run.
type LoadSummary struct {
	// Before and After are /proc/loadavg's 1, 5 and 15-minute averages.
	Before []float64 `json:"before"`
	After  []float64 `json:"after"`
	// Samples1m are the 1-minute averages sampled during the run; Median1m and Max1m summarise them.
	Samples1m []float64 `json:"samples_1m,omitempty"`
	Median1m  float64   `json:"median_1m,omitempty"`
	Max1m     float64   `json:"max_1m,omitempty"`
}

// ReadLoadAverage returns the 1, 5 and 15-minute load averages (nil where /proc/loadavg is missing).
func ReadLoadAverage() []float64 {
	content, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	fields := strings.Fields(string(content))
	var load []float64
	for _, f := range fields[:min(3, len(fields))] {
		if v, err := strconv.ParseFloat(f, 64); err == nil {
			load = append(load, v)
		}
	}
	return load
}

// WriteTable writes the report as a readable table.
func (r *Report) WriteTable(out io.Writer) error {
	var b strings.Builder
	m := r.Machine
	ext := []string{}
	if m.AVX2 {
		ext = append(ext, "AVX2")
	}
	if m.AVX512F {
		ext = append(ext, "AVX-512F")
	}
	fmt.Fprintf(&b, "machine: %s, %d logical CPUs, %s (%s)\n", orUnknown(m.CPUModel), m.CPUs, strings.Join(ext, " "), m.OS)
	during := "not sampled (run shorter than the sampling interval)"
	if len(r.Load.Samples1m) > 0 {
		during = fmt.Sprintf("median %.2f, max %.2f over %d samples", r.Load.Median1m, r.Load.Max1m, len(r.Load.Samples1m))
	}
	fmt.Fprintf(&b, "load average (1, 5, 15 min): before %s; during (1-min): %s; after %s\n",
		formatLoad(r.Load.Before), during, formatLoad(r.Load.After))
	order := "alternating"
	if r.Settings.Sequential {
		order = "one column at a time (-sequential)"
	}
	fmt.Fprintf(&b, "settings: %d rounds x %d steps per column, %s; medians over the timed steps (first step reported apart)\n\n",
		r.Settings.Rounds, r.Settings.StepsPerBlock, order)
	for _, c := range r.Columns {
		fmt.Fprintf(&b, "column %-14s %s\n", c.Name+":", describeColumn(c))
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "matmul %d³ f32\tmedian\tbest\tGFLOP/s (median)\tGFLOP/s (best = peak)\n", r.Settings.MatmulSize)
	for _, c := range r.Columns {
		switch {
		case c.Matmul != nil:
			fmt.Fprintf(tw, "%s\t%.3fs\t%.3fs\t%.1f\t%.1f\n", c.Name, c.Matmul.MedianSeconds, c.Matmul.BestSeconds,
				c.Matmul.MedianGFLOPs, c.Matmul.BestGFLOPs)
		case c.MatmulError != "":
			fmt.Fprintf(tw, "%s\t%s\t\t\t\n", c.Name, shorten(c.MatmulError))
		}
	}
	_ = tw.Flush()
	b.WriteString("\n")

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "workload\tbatch\tGFLOP/step\tcolumn\tfirst step\tstep (median)\tsteps/s\timages/s\tGFLOP/s\t%% of peak\ttime / best peer\n")
	for _, w := range r.Workloads {
		for i, c := range w.Columns {
			name, batch, gflop := "", "", ""
			if i == 0 {
				name, batch, gflop = w.Workload.Name, strconv.Itoa(w.Workload.Batch), fmt.Sprintf("%.2f", w.Workload.FLOPs/1e9)
			}
			if c.Steps == nil {
				reason := c.Error
				if reason == "" {
					reason = "no timed steps"
				}
				// The reason goes in the last cell, so the numeric columns stay aligned.
				if strings.Contains(reason, NotImplemented) {
					reason = "n/a: " + NotImplemented
				} else {
					reason = "error: " + shorten(reason)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t%s\n", name, batch, gflop, c.Column, reason)
				continue
			}
			peak, ratio := "-", "-"
			if c.Steps.PeakFraction > 0 {
				peak = fmt.Sprintf("%.0f%%", 100*c.Steps.PeakFraction)
			}
			if c.RatioToBestPeer > 0 {
				ratio = fmt.Sprintf("%.2fx", c.RatioToBestPeer)
				if c.Column == w.BestPeer {
					ratio += " (best peer)"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fs\t%.3fs\t%.2f\t%.1f\t%.1f\t%s\t%s\n", name, batch, gflop, c.Column,
				c.FirstStepSeconds, c.Steps.MedianSeconds, c.Steps.PerSecond, c.ImagesPerSecond, c.Steps.MedianGFLOPs, peak, ratio)
		}
	}
	_ = tw.Flush()
	b.WriteString("time / best peer: this column's median step time over the fastest other framework's in that row " +
		"(above 1: slower; 0.67x is 1.5x its images/s); " +
		"% of peak: GFLOP/s over the column's own best matmul rate.\n")
	if len(r.Notebook) > 0 {
		fmt.Fprintf(&b, "\nnotebook latency: %s\n", describeNotebook(r.Notebook))
	}
	if len(r.JupyterLab) > 0 {
		fmt.Fprintf(&b, "JupyterLab latency: %s\n", describeJupyterLab(r.JupyterLab))
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// NotImplemented is how a peer's worker (scripts/bench/peer_protocol.py) refuses a workload it has
// no version of.
const NotImplemented = "not implemented by this peer"

func describeColumn(c ColumnInfo) string {
	if c.Error != "" {
		return "not run: " + shorten(c.Error)
	}
	keys := []string{"backend", "device", "torch", "compile", "tensorflow", "jax", "flax", "cuda", "tf32", "threads", "OMP_WAIT_POLICY", "blas", "go", "gomaxprocs"}
	var parts []string
	for _, k := range keys {
		if v := c.Info[k]; v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ", ")
}

// describeNotebook summarises scripts/bench/notebook_latency.py's JSON in one line.
func describeNotebook(raw json.RawMessage) string {
	var n struct {
		Skipped  string  `json:"skipped"`
		Notebook string  `json:"notebook"`
		Kernel   float64 `json:"kernel_start_seconds"`
		Cells    []struct {
			Seconds float64 `json:"seconds"`
			Label   string  `json:"label"`
		} `json:"cells"`
		Stages        []notebookStages `json:"gonb_stages"`
		StagesPlainLD []notebookStages `json:"gonb_stages_without_goflags"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return "unreadable: " + err.Error()
	}
	if n.Skipped != "" {
		return "skipped: " + n.Skipped
	}
	parts := []string{fmt.Sprintf("%s, warm: kernel start %.1fs", n.Notebook, n.Kernel)}
	for _, c := range n.Cells {
		parts = append(parts, fmt.Sprintf("%s %.1fs", c.Label, c.Seconds))
	}
	// GoNB's stages of the first cell that went through the Go pipeline (the cell importing advlab).
	if len(n.Stages) > 0 {
		c := n.Stages[0]
		line := fmt.Sprintf("GoNB stages of %s: goimports %.2fs, go build %.2fs", c.Label, c.Stages["goimports"], c.Stages["go build"])
		for _, plain := range n.StagesPlainLD {
			if plain.Label == c.Label {
				line += fmt.Sprintf(" (%.2fs without the kernel's GOFLAGS=-ldflags=-s)", plain.Stages["go build"])
			}
		}
		parts = append(parts, line+fmt.Sprintf(", run %.2fs", c.Stages["run"]))
	}
	return strings.Join(parts, "; ")
}

// notebookStages is one cell's time per GoNB stage, from notebook_latency.py.
type notebookStages struct {
	Label  string             `json:"label"`
	Stages map[string]float64 `json:"stages"`
}

// describeJupyterLab summarises kernel/harness/lab_check.sh's latency.json in one line.
func describeJupyterLab(raw json.RawMessage) string {
	type timing struct {
		ToOutput float64 `json:"toOutput"`
	}
	var l struct {
		FirstAdvlabCell *timing `json:"firstAdvlabCell"`
		SmallCell       *struct {
			Runs   []float64 `json:"runs"`
			Median float64   `json:"median"`
		} `json:"smallCell"`
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return "unreadable: " + err.Error()
	}
	var parts []string
	if l.FirstAdvlabCell != nil {
		parts = append(parts, fmt.Sprintf("first cell importing advlab %.2fs", l.FirstAdvlabCell.ToOutput))
	}
	if l.SmallCell != nil && len(l.SmallCell.Runs) > 0 {
		parts = append(parts, fmt.Sprintf("a cell that prints a value %.2fs (median of %d)", l.SmallCell.Median, len(l.SmallCell.Runs)))
	}
	if len(parts) == 0 {
		return "no 00_setup timings in it (the check did not reach them)"
	}
	return "Shift+Enter to output in the browser, warm: " + strings.Join(parts, "; ")
}

func formatLoad(load []float64) string {
	if len(load) == 0 {
		return "unknown"
	}
	parts := make([]string, len(load))
	for i, l := range load {
		parts[i] = fmt.Sprintf("%.2f", l)
	}
	return strings.Join(parts, " ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown CPU"
	}
	return s
}

// shorten keeps error messages to one table-friendly line.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 110 {
		s = s[:107] + "..."
	}
	return s
}

// ShortenPaths rewrites the machine's own paths in the report's columns (the worker commands and
// what the workers said about themselves) so that a report can be published as it is: a path
// under dir becomes relative to it ("bin/advlab"), one under home starts with "~" (the XLA plugin
// under ~/.cache). Empty dir or home: that rewrite is skipped.
func (r *Report) ShortenPaths(dir, home string) {
	shorten := func(s string) string {
		if dir != "" {
			s = strings.ReplaceAll(s, strings.TrimSuffix(dir, "/")+"/", "")
		}
		if home != "" {
			s = strings.ReplaceAll(s, strings.TrimSuffix(home, "/")+"/", "~/")
		}
		return s
	}
	for i := range r.Columns {
		c := &r.Columns[i]
		c.Command = shorten(c.Command)
		for j := range c.Args {
			c.Args[j] = shorten(c.Args[j])
		}
		for k, v := range c.Info {
			c.Info[k] = shorten(v)
		}
	}
}
