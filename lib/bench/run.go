package bench

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options controls a Run.
type Options struct {
	// Columns are the workers to compare; those with Peer set are the other frameworks, and the
	// fastest of them in each workload is the reference of its ratios.
	Columns []Column
	// Workloads names the workloads to time (default: all, see Workloads).
	Workloads []string
	// Rounds is the number of alternations: in each round every column runs StepsPerBlock steps
	// (default 4).
	Rounds int
	// StepsPerBlock is the number of consecutive steps one column runs before the next column's
	// turn (default 3).
	StepsPerBlock int
	// MatmulSize is the size n of the n×n×n float32 product that measures each column's peak
	// (default 2048); MatmulRuns is the number of timed products per column and round (default 2).
	MatmulSize, MatmulRuns int
	// Sequential runs each workload in one column at a time (set up, every round, released) instead
	// of alternating the columns: for workloads too large for every column to hold at once (the
	// scaling study's batch 256). Load changes then fall on the columns unevenly.
	Sequential bool
	// Timeout bounds every single request to a worker (default 10 minutes).
	Timeout time.Duration
	// Log receives progress lines and the workers' stderr (default os.Stderr).
	Log io.Writer
}

// QuickOptions returns the smoke-run settings: one round of one step per column and a 512³ product.
func QuickOptions(columns []Column) Options {
	return Options{Columns: columns, Rounds: 1, StepsPerBlock: 1, MatmulSize: 512, MatmulRuns: 1}
}

func (o Options) withDefaults() Options {
	if len(o.Workloads) == 0 {
		for _, w := range Workloads() {
			o.Workloads = append(o.Workloads, w.Name)
		}
	}
	if o.Rounds <= 0 {
		o.Rounds = 4
	}
	if o.StepsPerBlock <= 0 {
		o.StepsPerBlock = 3
	}
	if o.MatmulSize <= 0 {
		o.MatmulSize = 2048
	}
	if o.MatmulRuns <= 0 {
		o.MatmulRuns = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	return o
}

// Run starts the columns' workers, measures each column's matmul peak, then times every workload
// with the columns alternating in blocks of StepsPerBlock steps, and returns the report. A column
// that fails (a missing library, an unsupported op) is reported with its error; the others go on.
func Run(opts Options) (*Report, error) {
	opts = opts.withDefaults()
	report := &Report{Started: time.Now().UTC(), Machine: DescribeMachine(), Settings: Settings{
		Rounds: opts.Rounds, StepsPerBlock: opts.StepsPerBlock, MatmulSize: opts.MatmulSize, MatmulRuns: opts.MatmulRuns,
		Sequential: opts.Sequential}}
	sampler := startLoadSampler(5 * time.Second)
	defer func() { report.Load = sampler.stop() }()

	workers := make([]*worker, len(opts.Columns))
	for i, c := range opts.Columns {
		result := ColumnInfo{Column: c}
		if c.Unavailable != "" {
			result.Error = c.Unavailable
			fmt.Fprintf(opts.Log, "bench: column %q is not run: %s\n", c.Name, c.Unavailable)
			report.Columns = append(report.Columns, result)
			continue
		}
		w, err := startWorker(c, opts.Log)
		if err == nil {
			var resp Response
			if resp, err = w.call(Request{Cmd: "info"}, opts.Timeout); err == nil {
				result.Info = resp.Info
				workers[i] = w
			} else {
				w.close()
			}
		}
		if err != nil {
			result.Error = err.Error()
			fmt.Fprintf(opts.Log, "bench: column %q is skipped: %v\n", c.Name, err)
		}
		report.Columns = append(report.Columns, result)
	}
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.close()
			}
		}
	}()
	if !slices.ContainsFunc(workers, func(w *worker) bool { return w != nil }) {
		return report, fmt.Errorf("bench: no column could start")
	}

	// The matmul peak of each column, alternating.
	fmt.Fprintf(opts.Log, "bench: matmul %d³ float32 (%d rounds)\n", opts.MatmulSize, opts.Rounds)
	matmul := make([][]float64, len(workers))
	for round := 0; round < opts.Rounds; round++ {
		for i, w := range workers {
			if w == nil || report.Columns[i].MatmulError != "" {
				continue
			}
			resp, err := w.call(Request{Cmd: "matmul", Size: opts.MatmulSize, N: opts.MatmulRuns}, opts.Timeout)
			if err != nil {
				report.Columns[i].MatmulError = err.Error()
				continue
			}
			matmul[i] = append(matmul[i], resp.Seconds...)
		}
	}
	for i := range workers {
		if len(matmul[i]) > 0 {
			report.Columns[i].Matmul = summarize(matmul[i], MatmulFLOPs(opts.MatmulSize), 0)
		}
	}

	for _, name := range opts.Workloads {
		w, err := LookupWorkload(name)
		if err != nil {
			return report, err
		}
		result := WorkloadResult{Workload: w}
		result.Columns = make([]ColumnResult, len(workers))
		times := make([][]float64, len(workers))
		// Normally every column sets the workload up, then they alternate; with Sequential one
		// column at a time sets it up, runs every round and releases it.
		groups := [][]int{}
		if opts.Sequential {
			for i := range workers {
				groups = append(groups, []int{i})
			}
		} else {
			groups = append(groups, nil)
			for i := range workers {
				groups[0] = append(groups[0], i)
			}
		}
		for _, group := range groups {
			for _, i := range group {
				wk := workers[i]
				result.Columns[i].Column = opts.Columns[i].Name
				if wk == nil {
					result.Columns[i].Error = "the worker did not start"
					if report.Columns[i].Error != "" {
						result.Columns[i].Error = "not run: " + report.Columns[i].Error
					}
					continue
				}
				fmt.Fprintf(opts.Log, "bench: %s: %s first step (compilation included)\n", w.Name, opts.Columns[i].Name)
				resp, err := wk.call(Request{Cmd: "setup", Workload: w.Name}, opts.Timeout)
				if err == nil && opts.Columns[i].Peer {
					err = sameWeights(w, resp.Weights)
				}
				if err != nil {
					result.Columns[i].Error = err.Error()
					continue
				}
				result.Columns[i].FirstStepSeconds = resp.Seconds[0]
			}
			for round := 0; round < opts.Rounds; round++ {
				for _, i := range group {
					wk := workers[i]
					if wk == nil || result.Columns[i].Error != "" {
						continue
					}
					resp, err := wk.call(Request{Cmd: "steps", N: opts.StepsPerBlock}, opts.Timeout)
					if err != nil {
						result.Columns[i].Error = err.Error()
						continue
					}
					times[i] = append(times[i], resp.Seconds...)
					fmt.Fprintf(opts.Log, "bench: %s round %d/%d: %-14s %s\n", w.Name, round+1, opts.Rounds,
						opts.Columns[i].Name, formatSeconds(resp.Seconds))
				}
			}
			for _, i := range group {
				if wk := workers[i]; wk != nil {
					if _, err := wk.call(Request{Cmd: "release"}, opts.Timeout); err != nil && result.Columns[i].Error == "" {
						result.Columns[i].Error = err.Error()
					}
				}
			}
		}
		for i := range workers {
			if len(times[i]) == 0 {
				continue
			}
			peak := 0.0
			if m := report.Columns[i].Matmul; m != nil {
				peak = m.BestGFLOPs
			}
			result.Columns[i].Steps = summarize(times[i], w.FLOPs, peak)
			result.Columns[i].ImagesPerSecond = float64(w.Batch) / result.Columns[i].Steps.MedianSeconds
		}
		result.setRatios(opts.Columns)
		report.Workloads = append(report.Workloads, result)
	}
	report.Finished = time.Now().UTC()
	return report, nil
}

// sameWeights checks that a peer's networks have the workload's matrix weights, network by network.
func sameWeights(w Workload, peer map[string]int) error {
	if w.Weights == nil {
		return nil
	}
	if peer == nil {
		return fmt.Errorf("the peer did not report its networks' weights (advlab's: %v)", w.Weights)
	}
	for _, name := range slices.Sorted(maps.Keys(w.Weights)) {
		if peer[name] != w.Weights[name] {
			return fmt.Errorf("the peer's %s has %d matrix weights, advlab's %d: not the same network", name, peer[name], w.Weights[name])
		}
	}
	return nil
}

// setRatios finds the fastest peer column of the workload (the lowest median step time) and sets
// every timed column's ratio to it.
func (r *WorkloadResult) setRatios(columns []Column) {
	best := -1
	for i, c := range r.Columns {
		if columns[i].Peer && c.Steps != nil && (best < 0 || c.Steps.MedianSeconds < r.Columns[best].Steps.MedianSeconds) {
			best = i
		}
	}
	if best < 0 {
		return
	}
	r.BestPeer = r.Columns[best].Column
	for i := range r.Columns {
		if s := r.Columns[i].Steps; s != nil {
			r.Columns[i].RatioToBestPeer = s.MedianSeconds / r.Columns[best].Steps.MedianSeconds
		}
	}
}

// Timing summarises repeated measurements of one operation.
type Timing struct {
	// Seconds are the individual measurements in the order taken.
	Seconds []float64 `json:"seconds"`
	// MedianSeconds and BestSeconds are their median and minimum.
	MedianSeconds float64 `json:"median_seconds"`
	BestSeconds   float64 `json:"best_seconds"`
	// PerSecond is 1 / MedianSeconds (steps/s for a training step).
	PerSecond float64 `json:"per_second"`
	// MedianGFLOPs and BestGFLOPs are the FLOP rates of the median and of the best run.
	MedianGFLOPs float64 `json:"median_gflops"`
	BestGFLOPs   float64 `json:"best_gflops"`
	// PeakFraction is MedianGFLOPs over the column's best matmul rate (0 when unknown).
	PeakFraction float64 `json:"peak_fraction,omitempty"`
}

// summarize computes a Timing of the measurements of an operation of flops FLOPs, against a
// peak in GFLOP/s (0: none).
func summarize(seconds []float64, flops, peak float64) *Timing {
	t := &Timing{Seconds: seconds, MedianSeconds: Median(seconds), BestSeconds: slices.Min(seconds)}
	t.PerSecond = 1 / t.MedianSeconds
	t.MedianGFLOPs = flops / t.MedianSeconds / 1e9
	t.BestGFLOPs = flops / t.BestSeconds / 1e9
	if peak > 0 {
		t.PeakFraction = t.MedianGFLOPs / peak
	}
	return t
}

// Median returns the median of values (the mean of the two middle ones for an even count), or
// NaN for none.
func Median(values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	mid := len(sorted) / 2
	if len(sorted)%2 == 1 {
		return sorted[mid]
	}
	return (sorted[mid-1] + sorted[mid]) / 2
}

func formatSeconds(seconds []float64) string {
	parts := make([]string, len(seconds))
	for i, s := range seconds {
		parts[i] = fmt.Sprintf("%.3fs", s)
	}
	return strings.Join(parts, " ")
}

// loadSampler records the 1-minute load average every interval while a run lasts.
type loadSampler struct {
	stopCh chan struct{}
	wg     sync.WaitGroup
	load   LoadSummary
}

func startLoadSampler(interval time.Duration) *loadSampler {
	s := &loadSampler{stopCh: make(chan struct{})}
	s.load.Before = ReadLoadAverage()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-s.stopCh:
				return
			case <-ticker.C:
				if l := ReadLoadAverage(); len(l) > 0 {
					s.load.Samples1m = append(s.load.Samples1m, l[0])
				}
			}
		}
	}()
	return s
}

func (s *loadSampler) stop() LoadSummary {
	close(s.stopCh)
	s.wg.Wait()
	s.load.After = ReadLoadAverage()
	if len(s.load.Samples1m) > 0 {
		s.load.Median1m = Median(s.load.Samples1m)
		s.load.Max1m = slices.Max(s.load.Samples1m)
	}
	return s.load
}

// NumCPU is the number of logical CPUs the Go runtime sees (used for the PyTorch thread count).
func NumCPU() int { return runtime.NumCPU() }
