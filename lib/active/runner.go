package active

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/checkpoint"
	"github.com/advlab/advlab/lib/viz"
)

// Config is the protocol of an active-learning experiment. A resumed run must have an equal
// Config (the runner refuses to mix results of different protocols in one directory).
type Config struct {
	// Task describes the task, e.g. "mnist 5 vs 7 (11700 pool, 1920 test images)" (Task.String).
	Task string `json:"task"`
	// Learner names the learner ("svm", "cnn").
	Learner string `json:"learner"`
	// Strategies name the strategies, in the order they run.
	Strategies []string `json:"strategies"`
	// Initial is the size of the random, class-balanced initial labelled set (GAAL: 50).
	Initial int `json:"initial"`
	// Budget is the number of labels each round spends (GAAL: 10).
	Budget int `json:"budget"`
	// Rounds is the number of query rounds after the initial set.
	Rounds int `json:"rounds"`
	// Repeats is the number of runs with different seeds whose curves are averaged (GAAL: 10).
	Repeats int `json:"repeats"`
	// Seed is the seed of the first repeat; repeat i uses Seed + i.
	Seed uint64 `json:"seed"`
	// MinConfidence, when > 0, discards every synthesised query that the oracle labels with a
	// confidence below it: the label is paid for but not used, as when a human labeller answers
	// "cannot tell" (the TensorFlow GAAL reproduction accepts a query only above a threshold). 0
	// keeps every answer, as GAAL's paper does.
	MinConfidence float64 `json:"min_confidence,omitempty"`
	// Settings records the strategies' and learner's hyperparameters in free form, so that a
	// resume with other settings is refused too.
	Settings string `json:"settings,omitempty"`
}

// Validate reports the first nonsensical field, naming it and what is expected.
func (c Config) Validate() error {
	switch {
	case len(c.Strategies) == 0:
		return fmt.Errorf("active: no strategy")
	case c.Initial <= 0:
		return fmt.Errorf("active: Initial = %d, want > 0", c.Initial)
	case c.Budget <= 0:
		return fmt.Errorf("active: Budget = %d, want > 0", c.Budget)
	case c.Rounds < 0:
		return fmt.Errorf("active: Rounds = %d, want >= 0", c.Rounds)
	case c.Repeats <= 0:
		return fmt.Errorf("active: Repeats = %d, want > 0", c.Repeats)
	case c.MinConfidence < 0 || c.MinConfidence > 1:
		return fmt.Errorf("active: MinConfidence = %g, want a probability in [0, 1]", c.MinConfidence)
	}
	return nil
}

// Record is the result of one round of one repeat of one strategy.
type Record struct {
	// Strategy, Repeat (from 0) and Round (0: the initial set) identify the round.
	Strategy string `json:"strategy"`
	Repeat   int    `json:"repeat"`
	Round    int    `json:"round"`
	// Seed is the repeat's seed.
	Seed uint64 `json:"seed"`
	// Labels is the number of labels spent so far, the initial set included; Synthetic is how many
	// of them went to synthesised images that were kept, Discarded how many to synthesised images
	// discarded for the oracle's low confidence (Config.MinConfidence).
	Labels    int `json:"labels"`
	Synthetic int `json:"synthetic"`
	Discarded int `json:"discarded,omitempty"`
	// Accuracy is the learner's test accuracy after training on those labels.
	Accuracy float64 `json:"accuracy"`
	// OracleConfidence is the mean confidence of the oracle's labels for this round's synthesised
	// queries (absent when the round synthesised nothing).
	OracleConfidence *float64 `json:"oracle_confidence,omitempty"`
	// SelectSeconds and FitSeconds are the wall times of the selection and of the training.
	SelectSeconds float64 `json:"select_seconds"`
	FitSeconds    float64 `json:"fit_seconds"`
	// Metrics are the strategy's diagnostics for this round's selection.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Curve is one strategy's learning curve: test accuracy against labels spent, the mean and the
// standard deviation over the repeats completed so far.
type Curve struct {
	// Strategy names the strategy.
	Strategy string `json:"strategy"`
	// Labels, Mean and Std hold one entry per round: labels spent (mean over repeats, equal for
	// every repeat unless the pool ran out), mean test accuracy, and its sample standard deviation
	// (n − 1 in the denominator; 0 with one repeat).
	Labels []float64 `json:"labels"`
	Mean   []float64 `json:"mean_accuracy"`
	Std    []float64 `json:"std_accuracy"`
	// Repeats is the number of repeats averaged at each round.
	Repeats []int `json:"repeats"`
}

// Results are an experiment's records and the curves summarising them.
type Results struct {
	Config  Config   `json:"config"`
	Records []Record `json:"records"`
	Curves  []Curve  `json:"curves"`
}

// Runner runs an active-learning experiment: for each repeat, for each strategy, an initial set
// and Rounds rounds of select, label, retrain, measure. Create it with the fields set and call Run.
type Runner struct {
	// Config is the protocol.
	Config Config
	// Task holds the pool and test images.
	Task *Task
	// Strategies are the strategies, one per name of Config.Strategies, in the same order. They
	// must keep no state between rounds that a resumed run would lack (everything this package
	// provides draws from the Round).
	Strategies []Strategy
	// NewLearner returns a fresh learner (one per strategy and repeat).
	NewLearner func() Learner
	// Oracle labels queries.
	Oracle *Oracle
	// Backend runs the strategies' graphs.
	Backend compute.Backend
	// Out, when set, is the directory of the run's files: state.ckpt (the resumable state, written
	// atomically after every round), results.json, results.csv, accuracy.svg and a grid of each
	// run's synthesised queries. A Run on a directory with a state continues it.
	Out string
	// Progress, when not nil, receives one line per round.
	Progress io.Writer
	// OnRound, when not nil, is called after each round is recorded and saved; a resumed run first
	// calls it with every round already done, in order.
	OnRound func(Record)
}

// StateFile is the name of the resumable state in Runner.Out.
const StateFile = "state.ckpt"

// runState is the resumable state: the records so far and the pools of unfinished runs.
type runState struct {
	Config  Config               `json:"config"`
	Records []Record             `json:"records"`
	Pools   map[string]poolState `json:"pools"`
}

// poolState is a pool after its last completed round.
type poolState struct {
	Round     int            `json:"round"`
	Indices   []int          `json:"indices"`
	Labels    []int          `json:"labels"`
	Synthetic []savedExample `json:"synthetic,omitempty"`
	Discarded int            `json:"discarded,omitempty"`
}

// savedExample is an Example with its pixels as little-endian float32 bytes (exact, compact).
type savedExample struct {
	Pixels     []byte  `json:"pixels"`
	Label      int     `json:"label"`
	Confidence float64 `json:"confidence"`
	Round      int     `json:"round"`
}

func runKey(strategy string, repeat int) string { return fmt.Sprintf("%s#%d", strategy, repeat) }

// Run runs (or continues) the experiment and returns its results. Cancelling ctx stops it after
// the current round (its state saved when Out is set) and returns ctx's error with the results so
// far.
func (r *Runner) Run(ctx context.Context) (*Results, error) {
	if err := r.Config.Validate(); err != nil {
		return nil, err
	}
	if len(r.Strategies) != len(r.Config.Strategies) {
		return nil, fmt.Errorf("active: %d strategies for %d names", len(r.Strategies), len(r.Config.Strategies))
	}
	for i, s := range r.Strategies {
		if s.Name() != r.Config.Strategies[i] {
			return nil, fmt.Errorf("active: strategy %d is %q, the configuration names %q", i, s.Name(), r.Config.Strategies[i])
		}
	}
	if r.Task == nil || r.NewLearner == nil || r.Oracle == nil {
		return nil, fmt.Errorf("active: Runner needs a Task, NewLearner and an Oracle")
	}
	state := &runState{Config: r.Config, Pools: map[string]poolState{}}
	if r.Out != "" {
		if err := os.MkdirAll(r.Out, 0o755); err != nil {
			return nil, fmt.Errorf("active: %w", err)
		}
		loaded, err := r.loadState()
		if err != nil {
			return nil, err
		}
		if loaded != nil {
			state = loaded
			r.logf("resuming %s: %d rounds already done\n", filepath.Join(r.Out, StateFile), len(state.Records))
			if r.OnRound != nil {
				for _, rec := range state.Records {
					r.OnRound(rec)
				}
			}
		}
	}
	for repeat := range r.Config.Repeats {
		for i, strategy := range r.Strategies {
			if err := r.runOne(ctx, state, strategy, i, repeat); err != nil {
				return r.results(state), err
			}
		}
	}
	return r.results(state), nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, format, args...)
	}
}

// seeds of a repeat: the repeat's seed, the initial set's generator, a round's learner seed and a
// strategy's round generator and seed.
func (r *Runner) repeatSeed(repeat int) uint64 { return r.Config.Seed + uint64(repeat) }

func (r *Runner) learnerSeed(repeat, round int) uint64 {
	return mix(r.repeatSeed(repeat), 0x1ea4, uint64(round))
}

func (r *Runner) strategyRNG(name string, repeat, round int) (*rand.Rand, uint64) {
	h := fnv.New64a()
	h.Write([]byte(name))
	seed := mix(r.repeatSeed(repeat), h.Sum64(), uint64(round))
	return rand.New(rand.NewPCG(seed, 0x57a7)), seed
}

// mix hashes a few numbers into a seed (splitmix64 steps).
func mix(values ...uint64) uint64 {
	x := uint64(0x9e3779b97f4a7c15)
	for _, v := range values {
		x ^= v
		x += 0x9e3779b97f4a7c15
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		x = (x ^ (x >> 27)) * 0x94d049bb133111eb
		x ^= x >> 31
	}
	return x
}

// runOne runs the rounds of one strategy and repeat that are not yet recorded.
func (r *Runner) runOne(ctx context.Context, state *runState, strategy Strategy, index, repeat int) error {
	name := strategy.Name()
	done := 0
	for _, rec := range state.Records {
		if rec.Strategy == name && rec.Repeat == repeat {
			done++
		}
	}
	if done >= r.Config.Rounds+1 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	key := runKey(name, repeat)
	pool := NewPool(r.Task.Train)
	learner := r.NewLearner()
	round := 0
	if saved, found := state.Pools[key]; found {
		if err := restorePool(pool, saved); err != nil {
			return fmt.Errorf("active: restoring %s: %w", key, err)
		}
		round = saved.Round
		// The learner of the last completed round, retrained: the same seed and data give the same model.
		if err := learner.Fit(ctx, pool.TrainingSet(), r.learnerSeed(repeat, round)); err != nil {
			return err
		}
	} else {
		if err := r.labelInitialSet(pool, repeat); err != nil {
			return err
		}
		rec := Record{Strategy: name, Repeat: repeat, Round: 0, Seed: r.repeatSeed(repeat)}
		if err := r.fitAndMeasure(ctx, learner, pool, &rec); err != nil {
			return err
		}
		if err := r.commit(state, key, pool, rec); err != nil {
			return err
		}
	}
	for round++; round <= r.Config.Rounds; round++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := Record{Strategy: name, Repeat: repeat, Round: round, Seed: r.repeatSeed(repeat)}
		rng, seed := r.strategyRNG(name, repeat, round)
		budget := r.Config.Budget
		start := time.Now()
		query, err := strategy.Select(ctx, &Round{Number: round, Pool: pool, Learner: learner, Budget: budget,
			RNG: rng, Seed: seed, Backend: r.Backend, Log: r.Progress})
		if err != nil {
			return fmt.Errorf("active: %s, repeat %d, round %d: %w", name, repeat, round, err)
		}
		if err := r.label(pool, query, round, budget, &rec); err != nil {
			return fmt.Errorf("active: %s, repeat %d, round %d: %w", name, repeat, round, err)
		}
		rec.SelectSeconds = time.Since(start).Seconds()
		rec.Metrics = query.Metrics
		if err := r.fitAndMeasure(ctx, learner, pool, &rec); err != nil {
			return err
		}
		if err := r.commit(state, key, pool, rec); err != nil {
			return err
		}
	}
	delete(state.Pools, key)
	if err := r.saveQueries(name, repeat, pool); err != nil {
		return err
	}
	return r.save(state)
}

// labelInitialSet labels the repeat's random, class-balanced initial set in pool (the same set
// for every strategy of the repeat).
func (r *Runner) labelInitialSet(pool *Pool, repeat int) error {
	rng := rand.New(rand.NewPCG(r.repeatSeed(repeat), 0x1717))
	initial, err := InitialSet(r.Task.Train.Labels, r.Task.NumClasses(), r.Config.Initial, rng)
	if err != nil {
		return err
	}
	labels, err := r.Oracle.LabelPool(initial)
	if err != nil {
		return err
	}
	return pool.SetLabels(initial, labels)
}

// label checks a query against the pool and the budget, asks the oracle, and adds the answers.
func (r *Runner) label(pool *Pool, query Query, round, budget int, rec *Record) error {
	if n := len(query.Indices) + len(query.Synthetic); n > budget {
		return fmt.Errorf("the query asks for %d labels, the budget is %d", n, budget)
	}
	labels, err := r.Oracle.LabelPool(query.Indices)
	if err != nil {
		return err
	}
	if err := pool.SetLabels(query.Indices, labels); err != nil {
		return err
	}
	if len(query.Synthetic) == 0 {
		return nil
	}
	size := pool.Set().ImageSize()
	images := make([]float32, 0, len(query.Synthetic)*size)
	for _, e := range query.Synthetic {
		if len(e.Image) != size {
			return fmt.Errorf("a synthesised image has %d values, want %d", len(e.Image), size)
		}
		images = append(images, e.Image...)
	}
	synthLabels, confidence, err := r.Oracle.LabelSynthetic(images, len(query.Synthetic))
	if err != nil {
		return err
	}
	examples := make([]Example, 0, len(query.Synthetic))
	mean := 0.0
	for k, e := range query.Synthetic {
		mean += confidence[k] / float64(len(query.Synthetic))
		if confidence[k] < r.Config.MinConfidence {
			pool.Discard(1)
			continue
		}
		examples = append(examples, Example{Image: e.Image, Label: synthLabels[k], Confidence: confidence[k], Round: round})
	}
	rec.OracleConfidence = &mean
	return pool.AddSynthetic(examples...)
}

// fitAndMeasure retrains the learner from scratch on the pool's labelled examples and records its
// test accuracy.
func (r *Runner) fitAndMeasure(ctx context.Context, learner Learner, pool *Pool, rec *Record) error {
	start := time.Now()
	if err := learner.Fit(ctx, pool.TrainingSet(), r.learnerSeed(rec.Repeat, rec.Round)); err != nil {
		return fmt.Errorf("active: %s, repeat %d, round %d: training the %s: %w", rec.Strategy, rec.Repeat, rec.Round,
			learner.Name(), err)
	}
	accuracy, err := Accuracy(learner, r.Task.Test)
	if err != nil {
		return err
	}
	rec.FitSeconds = time.Since(start).Seconds()
	rec.Accuracy = accuracy
	rec.Labels = pool.NumLabels()
	rec.Synthetic = len(pool.Synthetic())
	rec.Discarded = pool.NumDiscarded()
	return nil
}

// commit records a finished round, saves the state and the result files, and reports progress.
func (r *Runner) commit(state *runState, key string, pool *Pool, rec Record) error {
	state.Records = append(state.Records, rec)
	state.Pools[key] = savePool(pool, rec.Round)
	if err := r.save(state); err != nil {
		return err
	}
	line := fmt.Sprintf("[%s repeat %d/%d] round %d/%d  labels %d  accuracy %.4f  (select %.1fs, fit %.1fs)",
		rec.Strategy, rec.Repeat+1, r.Config.Repeats, rec.Round, r.Config.Rounds, rec.Labels, rec.Accuracy,
		rec.SelectSeconds, rec.FitSeconds)
	if rec.OracleConfidence != nil {
		line += fmt.Sprintf("  oracle confidence %.3f", *rec.OracleConfidence)
	}
	r.logf("%s\n", line)
	if r.OnRound != nil {
		r.OnRound(rec)
	}
	return nil
}

func savePool(pool *Pool, round int) poolState {
	s := poolState{Round: round, Indices: pool.Labelled(), Discarded: pool.NumDiscarded()}
	for _, i := range s.Indices {
		s.Labels = append(s.Labels, pool.Label(i))
	}
	for _, e := range pool.Synthetic() {
		var buf bytes.Buffer
		_ = binary.Write(&buf, binary.LittleEndian, e.Image)
		s.Synthetic = append(s.Synthetic, savedExample{Pixels: buf.Bytes(), Label: e.Label, Confidence: e.Confidence, Round: e.Round})
	}
	return s
}

func restorePool(pool *Pool, s poolState) error {
	if err := pool.SetLabels(s.Indices, s.Labels); err != nil {
		return err
	}
	pool.Discard(s.Discarded)
	for _, e := range s.Synthetic {
		image := make([]float32, len(e.Pixels)/4)
		if err := binary.Read(bytes.NewReader(e.Pixels), binary.LittleEndian, image); err != nil {
			return err
		}
		if err := pool.AddSynthetic(Example{Image: image, Label: e.Label, Confidence: e.Confidence, Round: e.Round}); err != nil {
			return err
		}
	}
	return nil
}

// loadState reads Out/state.ckpt, or returns nil when there is none.
func (r *Runner) loadState() (*runState, error) {
	path := filepath.Join(r.Out, StateFile)
	var state runState
	err := checkpoint.ReadMeta(path, &state)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("active: reading the run state: %w", err)
	}
	if !reflect.DeepEqual(state.Config, r.Config) {
		was, _ := json.Marshal(state.Config)
		now, _ := json.Marshal(r.Config)
		return nil, fmt.Errorf("active: %s holds a run with another configuration:\n  saved: %s\n  now:   %s\n"+
			"use another output directory, or the same flags to continue it", path, was, now)
	}
	if state.Pools == nil {
		state.Pools = map[string]poolState{}
	}
	return &state, nil
}

// save writes the state atomically, then results.json, results.csv and accuracy.svg.
func (r *Runner) save(state *runState) error {
	if r.Out == "" {
		return nil
	}
	if err := checkpoint.Save(filepath.Join(r.Out, StateFile), model.NewStore(), state); err != nil {
		return fmt.Errorf("active: saving the run state: %w", err)
	}
	return r.results(state).WriteFiles(r.Out)
}

// results summarises the state.
func (r *Runner) results(state *runState) *Results {
	records := append([]Record(nil), state.Records...)
	return &Results{Config: state.Config, Records: records, Curves: Curves(state.Config.Strategies, records)}
}

// Curves averages the records of each strategy round by round over its repeats.
func Curves(strategies []string, records []Record) []Curve {
	var curves []Curve
	for _, name := range strategies {
		var byRound [][]Record
		for _, rec := range records {
			if rec.Strategy != name {
				continue
			}
			for len(byRound) <= rec.Round {
				byRound = append(byRound, nil)
			}
			byRound[rec.Round] = append(byRound[rec.Round], rec)
		}
		curve := Curve{Strategy: name}
		for _, recs := range byRound {
			if len(recs) == 0 {
				break
			}
			labels, mean := 0.0, 0.0
			for _, rec := range recs {
				labels += float64(rec.Labels) / float64(len(recs))
				mean += rec.Accuracy / float64(len(recs))
			}
			std := 0.0
			if len(recs) > 1 {
				for _, rec := range recs {
					std += (rec.Accuracy - mean) * (rec.Accuracy - mean)
				}
				std = math.Sqrt(std / float64(len(recs)-1))
			}
			curve.Labels = append(curve.Labels, labels)
			curve.Mean = append(curve.Mean, mean)
			curve.Std = append(curve.Std, std)
			curve.Repeats = append(curve.Repeats, len(recs))
		}
		curves = append(curves, curve)
	}
	return curves
}

// WriteFiles writes results.json, results.csv and accuracy.svg (test accuracy against labels,
// mean ± std bands over repeats) to dir.
func (res *Results) WriteFiles(dir string) error {
	encoded, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "results.json"), append(encoded, '\n')); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "results.csv"), []byte(res.CSV())); err != nil {
		return err
	}
	return res.Chart().Save(filepath.Join(dir, "accuracy.svg"))
}

// CSV returns the records as CSV, one line per round, with a header.
func (res *Results) CSV() string {
	var b strings.Builder
	b.WriteString("strategy,repeat,seed,round,labels,synthetic,accuracy,oracle_confidence,select_seconds,fit_seconds\n")
	for _, rec := range res.Records {
		confidence := ""
		if rec.OracleConfidence != nil {
			confidence = fmt.Sprintf("%.4f", *rec.OracleConfidence)
		}
		fmt.Fprintf(&b, "%s,%d,%d,%d,%d,%d,%.6f,%s,%.3f,%.3f\n", rec.Strategy, rec.Repeat, rec.Seed, rec.Round,
			rec.Labels, rec.Synthetic, rec.Accuracy, confidence, rec.SelectSeconds, rec.FitSeconds)
	}
	return b.String()
}

// Chart returns the learning curves: test accuracy against labels spent, one series per strategy
// with a band of ± one standard deviation over the repeats.
func (res *Results) Chart() *viz.Chart {
	chart := &viz.Chart{Title: fmt.Sprintf("%s, %s learner (mean ± std over repeats)", res.Config.Task, res.Config.Learner),
		XLabel: "labels", YLabel: "test accuracy"}
	for _, c := range res.Curves {
		if len(c.Mean) == 0 {
			continue
		}
		chart.Series = append(chart.Series, viz.Series{Name: c.Strategy, X: c.Labels, Y: c.Mean, Std: c.Std})
	}
	return chart
}

// saveQueries writes a grid of the synthesised images a run queried, with their oracle labels in
// the file name's sidecar, when there are any.
func (r *Runner) saveQueries(strategy string, repeat int, pool *Pool) error {
	synthetic := pool.Synthetic()
	if r.Out == "" || len(synthetic) == 0 {
		return nil
	}
	set := pool.Set()
	n := min(len(synthetic), 100)
	images := make([]float32, 0, n*set.ImageSize())
	for _, e := range synthetic[len(synthetic)-n:] {
		images = append(images, e.Image...)
	}
	img, err := viz.Grid(images, n, set.Height, set.Width, set.Channels,
		viz.GridOptions{PerRow: 10, Range: &[2]float32{-1, 1}, Scale: 2})
	if err != nil {
		return err
	}
	return viz.SavePNG(filepath.Join(r.Out, fmt.Sprintf("queries-%s-repeat%d.png", strategy, repeat)), img)
}

// writeFileAtomic writes data to a temporary file next to path and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
