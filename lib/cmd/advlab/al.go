package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/advlab/advlab/lib/active"
	"github.com/advlab/advlab/lib/backend"
)

func init() {
	register("al", "active learning: strategies against random sampling, accuracy per label (advlab al -h)", runAL)
}

// parseALFlags reads the command line of `advlab al` into an experiment and checks it, returning a
// usage error that names what was wrong and what is expected.
func parseALFlags(args []string) (*active.Experiment, error) {
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
	minConfidence := fs.Float64("min-confidence", 0, "discard synthesised queries the oracle labels with a lower probability (paid for, not used; 0: keep all, as GAAL)")
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
	if err := parseOptions(fs, args, atLeast("initial", 1), atLeast("budget", 1), atLeast("rounds", 0), atLeast("repeats", 1),
		atLeast("pool", 0), atLeast("test-size", 0), within("min-confidence", 0, 1, false, false), atLeast("candidates", 0),
		atLeast("gan-steps", 1), atLeast("gaal-steps", 1), atLeast("algan-lambda", 0), atLeast("vaal-steps", 1),
		above("vaal-width", 0), atLeast("aral-steps", 1), atLeast("cnn-steps", 1)); err != nil {
		return nil, err
	}
	if *out == "" {
		return nil, usageError("-out DIR is required (results and the resumable state go there)")
	}
	e := &active.Experiment{Dataset: *dataset, TestDataset: *testDataset, Learner: *learner, Initial: *initial,
		Budget: *budget, Rounds: *rounds, Repeats: *repeats, Seed: *seed, MinConfidence: *minConfidence, Pool: *pool, TestSize: *testSize, Out: *out,
		GAN: active.GANConfig{Arch: *ganArch, Steps: *ganSteps}, CNN: active.CNNConfig{Steps: *cnnSteps},
		Options: active.Options{Candidates: *candidates, GAAL: active.GAALConfig{Steps: *gaalSteps},
			ALGAN: active.ALGANConfig{Lambda: *alganLambda},
			VAAL:  active.VAALConfig{Steps: *vaalSteps, Arch: *vaalArch, Width: *vaalWidth},
			ARAL:  active.ARALConfig{Steps: *aralSteps}},
		Progress: os.Stderr}
	switch *strategy {
	case "":
		return nil, usageError("-strategy is required: one or more of %s (comma-separated), or all", strings.Join(active.StrategyNames, ", "))
	case "all":
		e.Strategies = append([]string(nil), active.StrategyNames...)
	default:
		for _, name := range strings.Split(*strategy, ",") {
			e.Strategies = append(e.Strategies, strings.TrimSpace(name))
		}
	}
	if *classes != "all" {
		for _, part := range strings.Split(*classes, ",") {
			c, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				return nil, usageError("-classes %q: expected class numbers 0..9 separated by commas (e.g. 5,7), or all", *classes)
			}
			e.Classes = append(e.Classes, c)
		}
	}
	if err := e.Check(); err != nil {
		return nil, usageError("%v", err)
	}
	if *smoke {
		e.Smoke()
	}
	return e, nil
}

func runAL(args []string) error {
	e, err := parseALFlags(args)
	if err != nil {
		return err
	}
	b, choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, choice)
	runner, err := e.Runner(b)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "task: %s; learner %s; strategies %s\n", runner.Task, runner.Config.Learner, strings.Join(e.Strategies, ", "))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := runner.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted; the state after the last complete round is in %s: run the same command again to continue",
			filepath.Join(e.Out, active.StateFile))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\nfinal test accuracy (mean ± std over %d repeats):\n", e.Repeats)
	for _, c := range results.Curves {
		last := len(c.Mean) - 1
		fmt.Fprintf(os.Stderr, "  %-16s %4.0f labels  %.4f ± %.4f   (initial %.4f)\n", c.Strategy, c.Labels[last], c.Mean[last], c.Std[last], c.Mean[0])
	}
	fmt.Fprintf(os.Stderr, "results in %s (results.json, results.csv, accuracy.svg)\n", e.Out)
	return nil
}
