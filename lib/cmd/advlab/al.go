package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/advlab/advlab/lib/active"
	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/metrics"
)

func init() {
	register("al", "active learning: strategies against random sampling, accuracy per label (advlab al -h)", runAL)
}

// alFlags are the settings of `advlab al`, parsed and checked.
type alFlags struct {
	strategies  []string
	dataset     string
	testDataset string
	classes     []int
	learner     string
	initial     int
	budget      int
	rounds      int
	repeats     int
	seed        uint64
	pool        int
	testSize    int
	candidates  int
	smoke       bool
	out         string
	opts        active.Options
	gan         active.GANConfig
	cnn         active.CNNConfig
}

// parseALFlags reads the command line of `advlab al` and checks it, returning a usage error that
// names the flag and what it expects.
func parseALFlags(args []string) (*alFlags, error) {
	fs := newFlags("al", "al -strategy NAME[,NAME...] -dataset mnist|fashion|cifar10 [-classes 5,7] [-initial N] "+
		"[-budget N] [-rounds N] [-repeats N] [-seed S] [-smoke] -out DIR")
	strategy := fs.String("strategy", "", "strategies to compare, comma-separated, or \"all\": "+strings.Join(active.StrategyNames, ", "))
	dataset := fs.String("dataset", "mnist", "pool dataset: mnist, fashion or cifar10")
	testDataset := fs.String("test-dataset", "", "test set: the -dataset's test split by default; usps tests an MNIST-trained learner on USPS (GAAL's MNIST → USPS)")
	classes := fs.String("classes", "5,7", "the task's classes, comma-separated (GAAL: 5,7 on MNIST, 1,7 automobile vs horse on CIFAR-10), or \"all\"")
	learner := fs.String("learner", "", "task model: svm (linear, binary tasks) or cnn; default svm for two classes, cnn otherwise")
	initial := fs.Int("initial", 50, "size of the random, class-balanced initial labelled set (GAAL: 50)")
	budget := fs.Int("budget", 10, "labels queried per round (GAAL: 10)")
	rounds := fs.Int("rounds", 30, "query rounds after the initial set (GAAL: 30, reaching 350 labels)")
	repeats := fs.Int("repeats", 3, "repeats with seeds seed, seed+1, ...; curves show mean ± std over them (GAAL: 10)")
	seed := fs.Uint64("seed", 1, "seed of the first repeat (initial sets, strategies' draws, learners' training)")
	pool := fs.Int("pool", 0, "use only the first N pool images (0: all)")
	testSize := fs.Int("test-size", 0, "use only the first N test images (0: all)")
	candidates := fs.Int("candidates", 0, "uncertainty strategies and svm-active score only N random unlabelled images per round (0: all)")
	ganArch := fs.String("gan", "mlp", "GAN of the synthesising strategies: mlp (labml's MLP GAN) or dcgan28")
	ganSteps := fs.Int("gan-steps", 3000, "GAN training steps (trained once per output directory, cached in DIR/gan-*.ckpt)")
	gaalSteps := fs.Int("gaal-steps", 100, "gradient steps on z per GAAL query")
	alganLambda := fs.Float64("algan-lambda", 0.1, "λ of AL-GAN's regulariser R(z) = (‖z‖/√d − 1)²")
	vaalSteps := fs.Int("vaal-steps", 300, "VAAL training iterations per round")
	vaalArch := fs.String("vaal-vae", "mlp", "VAAL's VAE: mlp (fully connected, fast on a CPU) or conv (VAAL's convolutional VAE, 28x28 or 32x32)")
	vaalWidth := fs.Float64("vaal-width", 0.125, "channel multiplier of VAAL's conv VAE (1: VAAL's 128..1024)")
	aralSteps := fs.Int("aral-steps", 300, "ARAL training steps per round")
	cnnSteps := fs.Int("cnn-steps", 300, "Adam steps of the cnn learner per round")
	smoke := fs.Bool("smoke", false, "a run of about a minute: 1000 pool and 500 test images, 20 initial labels, 2 rounds of 10, 1 repeat, small networks")
	out := fs.String("out", "", "output directory (required): results.json, results.csv, accuracy.svg, state.ckpt; rerunning with the same flags continues")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError("unexpected arguments %q; flags go before them, e.g. -strategy random,gaal", fs.Args())
	}
	f := &alFlags{dataset: *dataset, testDataset: *testDataset, learner: *learner, initial: *initial, budget: *budget,
		rounds: *rounds, repeats: *repeats, seed: *seed, pool: *pool, testSize: *testSize, candidates: *candidates,
		smoke: *smoke, out: *out}
	if *out == "" {
		return nil, usageError("-out DIR is required (results and the resumable state go there)")
	}
	switch *strategy {
	case "":
		return nil, usageError("-strategy is required: one or more of %s (comma-separated), or all", strings.Join(active.StrategyNames, ", "))
	case "all":
		f.strategies = append([]string(nil), active.StrategyNames...)
	default:
		for _, name := range strings.Split(*strategy, ",") {
			name = strings.TrimSpace(name)
			if !slices.Contains(active.StrategyNames, name) {
				return nil, usageError("-strategy: unknown strategy %q; valid: %s, or all", name, strings.Join(active.StrategyNames, ", "))
			}
			if slices.Contains(f.strategies, name) {
				return nil, usageError("-strategy: %q is named twice", name)
			}
			f.strategies = append(f.strategies, name)
		}
	}
	if !slices.Contains([]string{"mnist", "fashion", "cifar10"}, *dataset) {
		return nil, usageError("-dataset %q: expected mnist, fashion or cifar10", *dataset)
	}
	if *testDataset != "" && *testDataset != *dataset && !(*testDataset == "usps" && *dataset == "mnist") {
		return nil, usageError("-test-dataset %q: expected %s (the default) or usps with -dataset mnist", *testDataset, *dataset)
	}
	if *classes != "all" {
		for _, part := range strings.Split(*classes, ",") {
			c, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil || c < 0 || c > 9 {
				return nil, usageError("-classes %q: expected class numbers 0..9 separated by commas (e.g. 5,7), or all", *classes)
			}
			if slices.Contains(f.classes, c) {
				return nil, usageError("-classes %q: class %d is named twice", *classes, c)
			}
			f.classes = append(f.classes, c)
		}
		if len(f.classes) < 2 {
			return nil, usageError("-classes %q: a task needs at least two classes", *classes)
		}
	}
	numClasses := len(f.classes)
	if *classes == "all" {
		numClasses = 10
	}
	switch *learner {
	case "":
		f.learner = "cnn"
		if numClasses == 2 {
			f.learner = "svm"
		}
	case "svm":
		if numClasses != 2 {
			return nil, usageError("-learner svm is binary: give two -classes (e.g. 5,7), or use -learner cnn")
		}
	case "cnn":
	default:
		return nil, usageError("-learner %q: expected svm or cnn", *learner)
	}
	if f.learner != "svm" {
		for _, name := range f.strategies {
			if active.NeedsLinearLearner(name) {
				return nil, usageError("-strategy %s needs the linear SVM learner (-learner svm, two -classes)", name)
			}
		}
	}
	for _, name := range f.strategies {
		if active.Synthesises(name) && *dataset == "cifar10" {
			return nil, usageError("-strategy %s synthesises images, and the oracle for synthesised images (the evaluator CNN) "+
				"exists for mnist and fashion only; use pool-based strategies on cifar10", name)
		}
	}
	for _, check := range []struct {
		name  string
		value int
		min   int
	}{{"-initial", *initial, 1}, {"-budget", *budget, 1}, {"-rounds", *rounds, 0}, {"-repeats", *repeats, 1},
		{"-pool", *pool, 0}, {"-test-size", *testSize, 0}, {"-candidates", *candidates, 0}, {"-gan-steps", *ganSteps, 1},
		{"-gaal-steps", *gaalSteps, 1}, {"-vaal-steps", *vaalSteps, 1}, {"-aral-steps", *aralSteps, 1}, {"-cnn-steps", *cnnSteps, 1}} {
		if check.value < check.min {
			return nil, usageError("%s %d: expected a number >= %d", check.name, check.value, check.min)
		}
	}
	if *initial < numClasses {
		return nil, usageError("-initial %d: the initial set needs at least one image per class (%d classes)", *initial, numClasses)
	}
	if *ganArch != "mlp" && *ganArch != "dcgan28" {
		return nil, usageError("-gan %q: expected mlp or dcgan28", *ganArch)
	}
	if *vaalArch != "conv" && *vaalArch != "mlp" {
		return nil, usageError("-vaal-vae %q: expected conv or mlp", *vaalArch)
	}
	if *vaalWidth <= 0 || *alganLambda < 0 {
		return nil, usageError("-vaal-width must be positive and -algan-lambda not negative")
	}
	f.gan = active.GANConfig{Arch: *ganArch, Steps: *ganSteps}
	f.cnn = active.CNNConfig{Steps: *cnnSteps}
	f.opts = active.Options{Candidates: *candidates, GAAL: active.GAALConfig{Steps: *gaalSteps},
		ALGAN: active.ALGANConfig{Lambda: *alganLambda},
		VAAL:  active.VAALConfig{Steps: *vaalSteps, Arch: *vaalArch, Width: *vaalWidth},
		ARAL:  active.ARALConfig{Steps: *aralSteps}}
	if *smoke {
		f.pool, f.testSize = 1000, 500
		f.initial, f.budget, f.rounds, f.repeats = max(20, numClasses*2), 10, 2, 1
		f.gan.Steps, f.gan.BatchSize = 100, 32
		f.cnn.Steps = 100
		f.opts.GAAL.Steps = 50
		f.opts.VAAL = active.VAALConfig{Steps: 10, BatchSize: 16, Arch: *vaalArch, Width: 1.0 / 16}
		f.opts.ARAL = active.ARALConfig{Steps: 30, BatchSize: 16, Hidden: 128}
	}
	return f, nil
}

// loadALTask loads the pool and test images of the task.
func loadALTask(f *alFlags) (*active.Task, error) {
	train, err := data.Load(f.dataset, data.Train)
	if err != nil {
		return nil, err
	}
	testName := f.testDataset
	if testName == "" {
		testName = f.dataset
	}
	test, err := data.Load(testName, data.Test)
	if err != nil {
		return nil, fmt.Errorf("loading the %s test set: %w", testName, err)
	}
	if testName == "usps" {
		// GAAL's MNIST → USPS: USPS's 16x16 digits fill their frame, MNIST's sit in a 20x20 box of a
		// 28x28 frame; pad by 4 pixels (24x24) and enlarge to 28x28, as the reproductions do.
		test = padImages(test, 4).Resize(28, 28)
	}
	task, err := active.NewTask(train, test, f.classes)
	if err != nil {
		return nil, err
	}
	if f.pool > 0 && f.pool < task.Train.N {
		task.Train = task.Train.Subset(firstN(f.pool, task.Train.N))
	}
	if f.testSize > 0 && f.testSize < task.Test.N {
		task.Test = task.Test.Subset(firstN(f.testSize, task.Test.N))
	}
	return task, nil
}

// padImages returns a copy of s with a border of p black pixels around every image.
func padImages(s *data.Set, p int) *data.Set {
	out := *s
	h, w, c := s.Height+2*p, s.Width+2*p, s.Channels
	out.Height, out.Width = h, w
	out.Images = make([]uint8, s.N*h*w*c)
	out.Labels = append([]uint8(nil), s.Labels...)
	for i := range s.N {
		src := s.Image(i)
		dst := out.Images[i*h*w*c : (i+1)*h*w*c]
		for y := range s.Height {
			copy(dst[((y+p)*w+p)*c:((y+p)*w+p+s.Width)*c], src[y*s.Width*c:(y+1)*s.Width*c])
		}
	}
	return &out
}

func runAL(args []string) error {
	f, err := parseALFlags(args)
	if err != nil {
		return err
	}
	task, err := loadALTask(f)
	if err != nil {
		return err
	}
	b, choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, choice)
	fmt.Fprintf(os.Stderr, "task: %s; learner %s; strategies %s\n", task, f.learner, strings.Join(f.strategies, ", "))

	// The oracle: ground truth for pool images, the evaluator CNN for synthesised ones.
	var evaluator *metrics.Evaluator
	if slices.ContainsFunc(f.strategies, active.Synthesises) {
		if evaluator, err = metrics.LoadEvaluator(f.dataset); err != nil {
			return fmt.Errorf("the synthesising strategies need the evaluator as their oracle: %w", err)
		}
	}
	oracle := active.NewOracle(task.Train, evaluator, task.Classes)

	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	taskHash := fnv.New32a()
	taskHash.Write([]byte(task.String()))
	f.gan.CachePath = filepath.Join(f.out, fmt.Sprintf("gan-%s-%d-%08x.ckpt", f.gan.Arch, f.gan.Steps, taskHash.Sum32()))
	f.opts.GAN = active.NewGAN(f.gan)
	strategies, err := active.NewStrategies(f.strategies, f.opts)
	if err != nil {
		return err
	}
	settings, err := json.Marshal(struct {
		Pool, TestSize int
		GAN            active.GANConfig
		CNN            active.CNNConfig
		Options        active.Options
	}{f.pool, f.testSize, active.GANConfig{Arch: f.gan.Arch, Steps: f.gan.Steps, BatchSize: f.gan.BatchSize}, f.cnn,
		active.Options{Candidates: f.opts.Candidates, GAAL: f.opts.GAAL, VAAL: f.opts.VAAL, ARAL: f.opts.ARAL, ALGAN: f.opts.ALGAN}})
	if err != nil {
		return err
	}
	runner := &active.Runner{
		Config: active.Config{Task: task.String(), Learner: f.learner, Strategies: f.strategies, Initial: f.initial,
			Budget: f.budget, Rounds: f.rounds, Repeats: f.repeats, Seed: f.seed, Settings: string(settings)},
		Task: task, Strategies: strategies, Oracle: oracle, Backend: b, Out: f.out, Progress: os.Stderr,
		NewLearner: func() active.Learner {
			if f.learner == "svm" {
				return active.NewSVM(active.SVMConfig{})
			}
			return active.NewCNN(b, task.NumClasses(), f.cnn)
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := runner.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted; the state after the last complete round is in %s: run the same command again to continue",
			filepath.Join(f.out, active.StateFile))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\nfinal test accuracy (mean ± std over %d repeats):\n", f.repeats)
	for _, c := range results.Curves {
		last := len(c.Mean) - 1
		fmt.Fprintf(os.Stderr, "  %-16s %4.0f labels  %.4f ± %.4f   (initial %.4f)\n", c.Strategy, c.Labels[last], c.Mean[last], c.Std[last], c.Mean[0])
	}
	fmt.Fprintf(os.Stderr, "results in %s (results.json, results.csv, accuracy.svg)\n", f.out)
	return nil
}
