package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/models"
	"github.com/advlab/advlab/lib/progress"
	"github.com/advlab/advlab/lib/ssl"
	"github.com/advlab/advlab/lib/viz"
)

func init() {
	trainJobs["ssl"] = runTrainSSL
}

// sslMetrics is what `advlab train ssl` writes to metrics.json.
type sslMetrics struct {
	Arch       string `json:"arch"`
	Dataset    string `json:"dataset"`
	Labels     int    `json:"labels"`
	Supervised bool   `json:"supervised_only"`
	Steps      int    `json:"steps"`
	Epochs     int    `json:"epochs"`
	BatchSize  int    `json:"batch_size"`
	Seed       uint64 `json:"seed"`
	// TestError is the fraction of the test set misclassified at the end (0.0093 is the paper's
	// 0.93%) by the moving average of the classifier's weights, as the reference measures it (by
	// the current weights with -average-rate -1); TestErrors and TestImages are its counts.
	TestError  float64 `json:"test_error"`
	TestErrors int     `json:"test_errors"`
	TestImages int     `json:"test_images"`
	// TestErrorCurrent is the test error of the current (not averaged) weights.
	TestErrorCurrent float64 `json:"test_error_current"`
	AverageRate      float64 `json:"average_rate"`
	// TestErrorReferenceAverage is the test error of the reference's own average (from zeros,
	// -reference-average-rate; absent without it).
	TestErrorReferenceAverage *float64 `json:"test_error_reference_average,omitempty"`
	ReferenceAverageRate      float64  `json:"reference_average_rate"`
	// Seconds is the training time of this run, evaluations excluded.
	Seconds        float64 `json:"seconds"`
	SecondsPerStep float64 `json:"seconds_per_step"`
	Backend        string  `json:"backend"`
	// Evaluations are the test errors measured during the run: every -eval-every steps and at the
	// end of every epoch.
	Evaluations []sslEvaluation    `json:"evaluations,omitempty"`
	History     []ssl.EpochMetrics `json:"epoch_history,omitempty"`
}

// sslEvaluation is one periodic test-set measurement.
type sslEvaluation struct {
	Step             int     `json:"step"`
	TrainSeconds     float64 `json:"train_seconds"`
	TestError        float64 `json:"test_error"`
	TestErrorCurrent float64 `json:"test_error_current"`
}

// reported is the test error advlab reports: the averaged weights' when there is an average.
func reported(m ssl.EvalMetrics) ssl.EvalMetrics {
	if m.Averaged != nil {
		return *m.Averaged
	}
	return m
}

func runTrainSSL(args []string) error {
	fs := newFlags("train ssl", "train ssl -labels 100 -steps N -seed S -out DIR [-supervised] [flags]")
	arch := fs.String("arch", "mlp", "architecture: mlp (openai/improved-gan's MNIST model: Gaussian-noise MLP with weight norm) or conv (a small conv net against the DCGAN-28 generator)")
	dataset := fs.String("dataset", "mnist", "training data: mnist or fashion (28x28 grey-scale, 10 classes)")
	labels := fs.Int("labels", 100, "labelled training images in all, the same number per class (100: 10 per class, the paper's setting)")
	steps := fs.Int("steps", 6000, "updates to run in this call (600 make one epoch of MNIST at batch 100; with -resume, added to the checkpoint's)")
	epochs := fs.Int("epochs", 0, "instead of -steps: train until the run has this many epochs in all, the checkpoint's included, so that the same command with -resume continues an interrupted run to the same end (the paper's run: 300)")
	batch := fs.Int("batch", 100, "labelled, unlabelled and generated images per step")
	lr := fs.Float64("lr", 0.003, "Adam learning rate of both networks (the reference's 0.003)")
	seed := fs.Uint64("seed", 1, "random seed: which images are labelled, weights, noise and batch order")
	averageRate := fs.Float64("average-rate", 1e-3, "rate of the moving average of the classifier's weights whose test error is reported (the reference's 1e-4 suits its 180,000 steps; -1 reports the current weights)")
	supervised := fs.Bool("supervised", false, "train the same classifier on the labelled images alone (the baseline)")
	referenceAverageRate := fs.Float64("reference-average-rate", 1e-4, "rate of a second average of the classifier's weights kept as the reference keeps its own (from zeros, taken before each update) and reported beside the first (0: none)")
	referenceAdam := fs.Bool("reference-adam", false, "Adam as the reference's nn.adam_updates: epsilon 1e-8 inside the square root (default: 1e-4 outside it, the same floor)")
	evalEvery := fs.Int("eval-every", 0, "measure the test error also every N steps (it is measured at the end of every epoch and of the run)")
	checkpointEvery := fs.Int("checkpoint-every", 1000, "write DIR/ssl.ckpt every N steps (and on Ctrl-C and at the end)")
	out := fs.String("out", "", "output directory (required): ssl.ckpt, samples.png, test_error.svg, metrics.json, curve.json (the test error after every epoch)")
	resume := fs.Bool("resume", false, "continue from DIR/ssl.ckpt")
	force := forceFlag(fs)
	devices := devicesFlag(fs)
	smoke := fs.Bool("smoke", false, "a seconds-long end-to-end run: 2,000 training and 500 test images (20 steps an epoch), 20 steps unless -steps or -epochs says otherwise")
	if err := parseOptions(fs, args, atLeast("labels", 10), atLeast("steps", 0), atLeast("epochs", 0), atLeast("batch", 2), above("lr", 0),
		within("average-rate", math.Inf(-1), 1, false, true), within("reference-average-rate", 0, 1, false, true), atLeast("eval-every", 0), atLeast("checkpoint-every", 0),
		atLeast("devices", 0)); err != nil {
		return err
	}
	if *out == "" {
		return usageError("-out DIR is required")
	}
	if *epochs > 0 && flagSet(fs, "steps") {
		return usageError("-steps %d and -epochs %d: give one of them (-epochs counts the whole run, -steps this call's updates)", *steps, *epochs)
	}
	if *averageRate == 0 || *averageRate >= 1 {
		return usageError("-average-rate %g: want a rate in (0, 1), or a negative value for no average", *averageRate)
	}
	if *dataset != "mnist" && *dataset != "fashion" {
		return usageError("-dataset %q: train ssl takes mnist or fashion (28x28 grey-scale, 10 classes)", *dataset)
	}
	if *labels < 10 || *labels%10 != 0 {
		return usageError("-labels %d: want a positive multiple of the 10 classes (the same number per class)", *labels)
	}
	net, imageRange, err := sslArchitecture(*arch)
	if err != nil {
		return err
	}

	dataInit, limitTrain, limitTest := 0, 0, 0 // DataInit 0: the default, 500 images
	if *smoke {
		limitTrain, limitTest = 2000, 500
		*evalEvery, dataInit = 10, 100
		if !flagSet(fs, "steps") {
			*steps = 20 // one epoch of the 2,000 images
		}
	}
	train, test, err := loadSplits(*dataset, limitTrain, limitTest)
	if err != nil {
		return err
	}
	labelled, unlabelled, err := ssl.SplitLabelled(train, *labels/10, int64(*seed), imageRange)
	if err != nil {
		return err
	}
	testImages := ssl.All(test, imageRange)
	cfg := ssl.Config{BatchSize: *batch, LearningRate: *lr, Seed: *seed, DataInit: dataInit, AverageRate: *averageRate,
		ReferenceAverageRate: *referenceAverageRate, ReferenceAdam: *referenceAdam, Devices: *devices}
	session, err := startTraining(*out, "ssl.ckpt", *resume, *force)
	if err != nil {
		return err
	}
	defer session.stop()
	if err := session.runSettings("ssl", *resume, map[string]string{"arch": *arch, "dataset": *dataset, "labels": fmt.Sprint(*labels), "supervised": fmt.Sprint(*supervised), "smoke": fmt.Sprint(*smoke)}); err != nil {
		return err
	}
	var trainer *ssl.Trainer
	if *supervised {
		trainer, err = ssl.NewSupervised(session.backend, cfg, net.Discriminator, labelled)
	} else {
		trainer, err = ssl.New(session.backend, cfg, net.Discriminator, net.Generator, labelled, unlabelled)
	}
	if err != nil {
		return err
	}
	if *resume {
		if err := session.resume(trainer); err != nil {
			return err
		}
		reportChanges(trainer.ConfigChanges(), trainer.StepCount())
	}

	startStep := trainer.StepCount()
	if *epochs > 0 {
		*steps = max(*epochs*trainer.StepsPerEpoch()-startStep, 0)
		if *steps == 0 {
			fmt.Fprintf(os.Stderr, "the run in %s is at step %d, epoch %d: -epochs %d is reached, no steps to train (give a larger -epochs to go on)\n",
				*out, startStep, startStep/trainer.StepsPerEpoch(), *epochs)
		}
	}
	bar := progress.NewBar(os.Stderr, startStep+*steps)
	bar.StartStep = startStep
	var evaluations []sslEvaluation
	var evalTime time.Duration
	var evalErr error
	start := time.Now()
	// record adds a test measurement (-eval-every's or an epoch's) to evaluations, once per step.
	record := func(step int, result ssl.EvalMetrics) *sslEvaluation {
		if n := len(evaluations); n > 0 && evaluations[n-1].Step == step {
			return nil
		}
		evaluations = append(evaluations, sslEvaluation{Step: step, TrainSeconds: (time.Since(start) - evalTime).Seconds(),
			TestError: reported(result).ErrorRate, TestErrorCurrent: result.ErrorRate})
		return &evaluations[len(evaluations)-1]
	}
	curve := ssl.Curve{Format: ssl.CurveFormat, Implementation: "advlab", Backend: withHome(session.backendName), Arch: *arch,
		Dataset: *dataset, Labels: *labels, Seed: *seed, BatchSize: *batch, LearningRate: *lr,
		AdamEpsilon: trainer.Config().Epsilon, AdamEpsilonInsideRoot: *referenceAdam, AverageRate: max(*averageRate, 0),
		ReferenceAverageRate: *referenceAverageRate, Command: continueCommand("train ssl", args)}
	trainErr := trainer.Train(session.ctx, ssl.TrainOptions{
		Steps: *steps, CheckpointPath: session.checkpoint, CheckpointEvery: *checkpointEvery,
		Test: testImages, OnEpoch: func(e ssl.EpochMetrics) {
			evalTime += time.Duration(e.EvalSeconds * float64(time.Second))
			record(e.Step, *e.Test)
			fmt.Fprintf(os.Stderr, "\nepoch %d (step %d): test error %s\n", e.Epoch, e.Step, describeErrors(*e.Test))
			curve.Epochs = ssl.CurveOf(trainer.Epochs()) // after every epoch, as a long run goes
			if err := session.writeJSON("curve.json", &curve); err != nil {
				fmt.Fprintf(os.Stderr, "advlab train: the curve after epoch %d: %v (it is written again at the end)\n", e.Epoch, err)
			}
		},
		OnStep: func(m ssl.StepMetrics) {
			bar.Update(m.Step, progress.Scalar{Name: "L_lab", Value: m.LossLab}, progress.Scalar{Name: "L_unl", Value: m.LossUnl},
				progress.Scalar{Name: "G", Value: m.GLoss}, progress.Scalar{Name: "train err", Value: m.TrainError})
			if *evalEvery == 0 || m.Step%*evalEvery != 0 || evalErr != nil {
				return
			}
			evalStart := time.Now()
			result, err := trainer.Evaluate(testImages)
			evalTime += time.Since(evalStart)
			if err != nil {
				evalErr = err
				return
			}
			if e := record(m.Step, result); e != nil {
				fmt.Fprintf(os.Stderr, "\nstep %d (%s): test error %s\n", m.Step, trainingTime(e.TrainSeconds, startStep),
					describeErrors(result))
			}
		},
	})
	seconds := (time.Since(start) - evalTime).Seconds()
	bar.Done()
	curve.Epochs = ssl.CurveOf(trainer.Epochs())
	if err := session.writeJSON("curve.json", &curve); err != nil {
		return err
	}
	if trainErr != nil {
		return session.interrupted(trainErr)
	}
	if evalErr != nil {
		return evalErr
	}
	current, err := trainer.Evaluate(testImages)
	if err != nil {
		return err
	}
	final := reported(current)
	result := sslMetrics{Arch: *arch, Dataset: *dataset, Labels: *labels, Supervised: *supervised,
		Steps: trainer.StepCount(), Epochs: trainer.EpochCount(), BatchSize: *batch, Seed: *seed,
		TestError: final.ErrorRate, TestErrors: final.Errors, TestImages: final.Images, TestErrorCurrent: current.ErrorRate,
		AverageRate: *averageRate, ReferenceAverageRate: *referenceAverageRate, Seconds: seconds,
		Backend: session.backendName, Evaluations: evaluations, History: trainer.Epochs()}
	if current.ReferenceAveraged != nil {
		result.TestErrorReferenceAverage = &current.ReferenceAveraged.ErrorRate
	}
	if done := trainer.StepCount() - startStep; done > 0 {
		result.SecondsPerStep = seconds / float64(done)
	}
	if err := writeSSLPictures(*out, trainer, evaluations, imageRange); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "test error %.2f%% (%d of %d test images; %s) after %d steps with %d labels%s; results in %s\n",
		100*final.ErrorRate, final.Errors, final.Images, describeErrors(current), trainer.StepCount(), *labels,
		map[bool]string{true: " (supervised only)", false: ""}[*supervised], *out)
	return session.writeMetrics(result)
}

// describeErrors says a test evaluation's error rates: every average's and the current weights'.
func describeErrors(m ssl.EvalMetrics) string {
	var parts []string
	if m.Averaged != nil {
		parts = append(parts, fmt.Sprintf("averaged weights %.2f%%", 100*m.Averaged.ErrorRate))
	}
	if m.ReferenceAveraged != nil {
		parts = append(parts, fmt.Sprintf("the reference's average %.2f%%", 100*m.ReferenceAveraged.ErrorRate))
	}
	parts = append(parts, fmt.Sprintf("current weights %.2f%%", 100*m.ErrorRate))
	return strings.Join(parts, ", ")
}

// continueCommand is the command line that continues this run: the same arguments with -resume.
func continueCommand(job string, args []string) string {
	words := []string{"advlab", job}
	resume := false
	for _, a := range args {
		switch strings.TrimLeft(a, "-") {
		case "resume", "resume=true":
			resume = true
		case "force", "force=true": // a continuation must not replace the run it continues
			continue
		}
		if strings.ContainsAny(a, " \t'\"") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		words = append(words, a)
	}
	if !resume {
		words = append(words, "-resume")
	}
	return strings.Join(words, " ")
}

// withHome writes the user's home directory in s as ~ (a file that may be published names no
// machine's paths).
func withHome(s string) string {
	if home, err := os.UserHomeDir(); err == nil && home != "" && home != "/" {
		return strings.ReplaceAll(s, strings.TrimSuffix(home, "/")+"/", "~/")
	}
	return s
}

// sslArchitecture returns the networks for -arch and the pixel range their generator produces.
func sslArchitecture(arch string) (models.GAN, data.Range, error) {
	switch arch {
	case "mlp":
		return models.ImprovedGANMNIST(), data.RangeZeroOne, nil // sigmoid generator
	case "conv":
		return models.SSLConv28(), data.RangeMinusOneOne, nil // tanh generator
	}
	return models.GAN{}, data.RangeZeroOne, usageError("unknown -arch %q; valid: mlp, conv", arch)
}

// writeSSLPictures writes the generator's fixed-noise samples (semi-supervised runs) and the test
// error curve of the periodic evaluations.
func writeSSLPictures(dir string, trainer *ssl.Trainer, evaluations []sslEvaluation, r data.Range) error {
	if !trainer.Supervised() && len(trainer.FixedNoise()) > 0 {
		samples, err := trainer.Sample(trainer.FixedNoise())
		if err != nil {
			return err
		}
		h, w, c := trainer.ImageShape()
		lo, hi := float32(0), float32(1)
		if r == data.RangeMinusOneOne {
			lo = -1
		}
		img, err := viz.Grid(samples, len(samples)/(h*w*c), h, w, c, viz.GridOptions{Range: &[2]float32{lo, hi}, Scale: 2})
		if err != nil {
			return err
		}
		if err := viz.SavePNG(filepath.Join(dir, "samples.png"), img); err != nil {
			return err
		}
	}
	if len(evaluations) == 0 {
		return nil
	}
	steps := make([]float64, len(evaluations))
	errs, errsCurrent := make([]float64, len(evaluations)), make([]float64, len(evaluations))
	for i, e := range evaluations {
		steps[i], errs[i], errsCurrent[i] = float64(e.Step), 100*e.TestError, 100*e.TestErrorCurrent
	}
	chart := &viz.Chart{Title: "Test error during training", XLabel: "step", YLabel: "test error (%)",
		Series: []viz.Series{{Name: "averaged weights", X: steps, Y: errs}, {Name: "current weights", X: steps, Y: errsCurrent}}}
	return chart.Save(filepath.Join(dir, "test_error.svg"))
}
