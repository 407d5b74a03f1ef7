package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/gan"
	"github.com/advlab/advlab/lib/metrics"
	"github.com/advlab/advlab/lib/models"
	"github.com/advlab/advlab/lib/progress"
	"github.com/advlab/advlab/lib/viz"
)

func init() {
	trainJobs["gan"] = runTrainGAN
}

// ganMetrics is what `advlab train gan` writes to metrics.json.
type ganMetrics struct {
	Arch            string   `json:"arch"`
	Dataset         string   `json:"dataset"`
	Steps           int      `json:"steps"`
	BatchSize       int      `json:"batch_size"`
	Seed            uint64   `json:"seed"`
	Seconds         float64  `json:"seconds"` // training time of this run, periodic evaluations excluded
	ImagesPerSecond float64  `json:"images_per_second"`
	Backend         string   `json:"backend"`
	FID             *float64 `json:"fid"`
	FIDSamples      int      `json:"fid_samples,omitempty"`
	ClassesCovered  *int     `json:"classes_covered"`
	ClassKL         *float64 `json:"class_kl"`
	ClassHistogram  []int    `json:"class_histogram,omitempty"`
	// Quality is the final judgement on -fid-samples images (at most half the test split a side)
	// against the real-data floor, and Recognisable whether it passes metrics.Recognisable.
	Quality      *metrics.Quality `json:"quality,omitempty"`
	Recognisable *bool            `json:"recognisable,omitempty"`
	FinalDLoss   float64          `json:"final_d_loss"`
	FinalGLoss   float64          `json:"final_g_loss"`
	// Evaluations are the periodic measurements of -eval-every.
	Evaluations []ganEvaluation `json:"evaluations,omitempty"`
	// TargetReached is the first evaluation that met the stopping rule: the quality bar
	// (-until recognisable) or FID <= -fid-target with every class covered.
	TargetReached *ganEvaluation `json:"target_reached,omitempty"`
	// TimeLimit is -time-limit in seconds, and TimeLimitReached whether training stopped at it.
	TimeLimit        float64 `json:"time_limit_seconds,omitempty"`
	TimeLimitReached bool    `json:"time_limit_reached,omitempty"`
}

// ganEvaluation is one periodic measurement during training.
type ganEvaluation struct {
	Step int `json:"step"`
	// TrainSeconds is the training time so far in this run, evaluations excluded.
	TrainSeconds   float64 `json:"train_seconds"`
	FID            float64 `json:"fid"`
	Samples        int     `json:"samples"`
	ClassesCovered int     `json:"classes_covered"`
	ClassKL        float64 `json:"class_kl"`
	InceptionScore float64 `json:"inception_score"`
	KID            float64 `json:"kid"`
	KIDSE          float64 `json:"kid_se"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	// Recognisable is whether this evaluation passed metrics.Recognisable.
	Recognisable bool `json:"recognisable"`
}

func runTrainGAN(args []string) error {
	fs := newFlags("train gan", "train gan -arch mlp|dcgan28|dcgan64 -dataset mnist|fashion|cifar10 -steps N -out DIR [flags]")
	arch := fs.String("arch", "dcgan28", "architecture: mlp (the Keras MLP of the article on active learning in GANs), mlp-labml (labml's LeakyReLU MLP), dcgan28 (TensorFlow tutorial), dcgan64 (PyTorch tutorial)")
	dataset := fs.String("dataset", "mnist", "training data: mnist, fashion or cifar10 (cifar10 needs -arch dcgan64 or mlp)")
	steps := fs.Int("steps", 2000, "generator updates to run (in this call; with -resume, added to the checkpoint's)")
	batch := fs.Int("batch", 64, "batch size")
	seed := fs.Uint64("seed", 1, "random seed: weights, noise and batch order")
	out := fs.String("out", "", "output directory (required): grids, progress.gif, losses.svg, gan.ckpt, metrics.json")
	resume := fs.Bool("resume", false, "continue from DIR/gan.ckpt")
	force := forceFlag(fs)
	snapshotEvery := fs.Int("snapshot-every", 200, "write a fixed-noise grid every N steps")
	checkpointEvery := fs.Int("checkpoint-every", 500, "write DIR/gan.ckpt every N steps (and on Ctrl-C and at the end)")
	fidSamples := fs.Int("fid-samples", 10000, "generated images for FID and class coverage (0 skips the evaluation)")
	lr := fs.Float64("lr", 0, "learning rate of both networks (0: the architecture's default)")
	beta1 := fs.Float64("beta1", 0, "Adam β1 of both networks (0: the architecture's default; DCGAN uses 0.5)")
	evalEvery := fs.Int("eval-every", 0, "measure the samples' quality (Inception Score, KID, precision, recall, FID, classes) every N steps during training (0: only at the end)")
	evalSamples := fs.Int("eval-samples", 2000, "generated images per periodic evaluation (at most half the test split: the other half is the real-data floor)")
	until := fs.String("until", "steps", "with -eval-every: steps (run every step) or recognisable (stop at the first evaluation that passes the quality bar: 10 classes, KID within 2x the real floor, precision >= 0.7, Inception Score >= 90% of the real)")
	fidTarget := fs.Float64("fid-target", 0, "with -eval-every: stop once FID <= this and all 10 classes are covered (0: off; the older, laxer rule than -until recognisable)")
	timeLimit := fs.Duration("time-limit", 0, "stop once training (periodic evaluations excluded) has run this long, e.g. 5m, with a checkpoint and the final evaluation (0: no limit)")
	devices := devicesFlag(fs)
	if err := parseOptions(fs, args, atLeast("steps", 0), atLeast("batch", 1), atLeast("snapshot-every", 0),
		atLeast("checkpoint-every", 0), atLeast("fid-samples", 100).orZero("no evaluation"), above("lr", 0).orZero("the architecture's default"),
		within("beta1", 0, 1, true, true).orZero("the architecture's default"), atLeast("eval-every", 0), within("eval-samples", 100, 5000, false, false),
		atLeast("fid-target", 0), atLeast("devices", 0), atLeast("time-limit", 0)); err != nil {
		return err
	}
	if *out == "" {
		return usageError("-out DIR is required")
	}
	if *dataset != "mnist" && *dataset != "fashion" && *dataset != "cifar10" {
		return usageError("-dataset %q: train gan takes mnist, fashion or cifar10", *dataset)
	}
	if *evalEvery > 0 && *dataset != "mnist" && *dataset != "fashion" {
		return usageError("-eval-every needs an evaluator: -dataset mnist or fashion")
	}
	if *until != "steps" && *until != "recognisable" {
		return usageError("-until %q: want steps or recognisable", *until)
	}
	if *until == "recognisable" && *evalEvery == 0 {
		return usageError("-until recognisable needs -eval-every N: the bar is checked at each evaluation")
	}

	train, err := data.Load(*dataset, data.Train)
	if err != nil {
		return err
	}
	arch2, cfg, err := ganRecipe(*arch, train)
	if err != nil {
		return err
	}
	if arch2.Height != train.Height || arch2.Width != train.Width {
		train = train.Resize(arch2.Height, arch2.Width)
	}
	cfg.BatchSize, cfg.Seed, cfg.Devices = *batch, *seed, *devices
	cfg = cfg.Defaults()
	if *lr > 0 {
		cfg.D.LearningRate, cfg.G.LearningRate = *lr, *lr
	}
	if *beta1 > 0 {
		cfg.D.Beta1, cfg.G.Beta1 = *beta1, *beta1
	}
	session, err := startTraining(*out, "gan.ckpt", *resume, *force)
	if err != nil {
		return err
	}
	defer session.stop()
	if err := session.runSettings("gan", *resume, map[string]string{"arch": *arch, "dataset": *dataset}); err != nil {
		return err
	}
	images := data.Images{Set: train, Range: data.RangeMinusOneOne} // pixels in [-1, 1], as a tanh generator's
	trainer, err := gan.New(session.backend, cfg, arch2.Generator, arch2.Discriminator, images)
	if err != nil {
		return err
	}
	if *resume {
		if err := session.resume(trainer); err != nil {
			return err
		}
		reportChanges(trainer.ConfigChanges(), trainer.StepCount())
	}

	ctx := session.ctx
	startStep := trainer.StepCount()
	bar := progress.NewBar(os.Stderr, startStep+*steps)
	bar.StartStep = startStep // the rate and ETA count this run's steps, not the checkpoint's
	var frames []image.Image
	grid := func(s gan.Snapshot) (*image.RGBA, error) {
		return viz.Grid(s.Samples, len(s.Samples)/(s.Height*s.Width*s.Channels), s.Height, s.Width, s.Channels,
			viz.GridOptions{Range: &[2]float32{-1, 1}})
	}
	var evaluations []ganEvaluation
	var reached *ganEvaluation
	var evalErr error // an evaluation that failed while the run depends on it (-until recognisable)
	judges := &ganJudges{dataset: *dataset}
	var evalTime time.Duration
	timedOut := false // -time-limit ran out
	start := time.Now()
	trainCtx, stopTraining := context.WithCancel(ctx)
	defer stopTraining()
	trainErr := trainer.Train(trainCtx, gan.TrainOptions{
		Steps: *steps, SnapshotEvery: *snapshotEvery, CheckpointPath: session.checkpoint, CheckpointEvery: *checkpointEvery,
		OnWarning: func(w string) { fmt.Fprintf(os.Stderr, "\nwarning: %s\n", w) },
		OnStep: func(m gan.StepMetrics) {
			bar.Update(m.Step, progress.Scalar{Name: "d_loss", Value: m.DLoss}, progress.Scalar{Name: "g_loss", Value: m.GLoss},
				progress.Scalar{Name: "D(x)", Value: m.DReal}, progress.Scalar{Name: "D(G(z))", Value: m.DFakeBefore})
			if *timeLimit > 0 {
				bar.SetTimeLeft(max(*timeLimit-(time.Since(start)-evalTime), time.Nanosecond))
			}
			if *timeLimit > 0 && !timedOut && time.Since(start)-evalTime >= *timeLimit {
				timedOut = true
				fmt.Fprintf(os.Stderr, "\n-time-limit %s: training stops at step %d\n", *timeLimit, m.Step)
				defer stopTraining() // after this step's evaluation, if one is due
			}
			if *evalEvery == 0 || m.Step%*evalEvery != 0 {
				return
			}
			evalStart := time.Now()
			quality, err := judges.judge(trainer, *evalSamples, nil)
			evalTime += time.Since(evalStart)
			if err != nil {
				fmt.Fprintln(os.Stderr, "evaluation:", err)
				if *until == "recognisable" {
					evalErr = err
					stopTraining()
				}
				return
			}
			g := quality.Generated
			pass, lines := metrics.Recognisable.Check(quality)
			e := ganEvaluation{Step: m.Step, TrainSeconds: (time.Since(start) - evalTime).Seconds(), FID: g.FID,
				Samples: g.Images, ClassesCovered: g.Coverage.ClassesCovered, ClassKL: g.Coverage.KLFromUniform,
				InceptionScore: g.IS, KID: g.KID.KID, KIDSE: g.KID.SE, Precision: g.PR.Precision, Recall: g.PR.Recall, Recognisable: pass}
			evaluations = append(evaluations, e)
			verdict := "not yet recognisable"
			if pass {
				verdict = "recognisable"
			}
			fmt.Fprintf(os.Stderr, "\nstep %d (%s): %s on %d samples (IS %.2f, KID %.4f, precision %.2f, recall %.2f, FID %.2f, %d/10 classes)\n  %s\n",
				e.Step, trainingTime(e.TrainSeconds, startStep), verdict, e.Samples, e.InceptionScore, e.KID, e.Precision, e.Recall,
				e.FID, e.ClassesCovered, strings.Join(lines, "\n  "))
			if reached == nil && ((*until == "recognisable" && pass) ||
				(*fidTarget > 0 && e.FID <= *fidTarget && e.ClassesCovered == 10)) {
				reached = &e
				stopTraining()
			}
		},
		OnSnapshot: func(s gan.Snapshot) {
			img, err := grid(s)
			if err != nil {
				fmt.Fprintln(os.Stderr, "grid:", err)
				return
			}
			frames = append(frames, img)
			if err := viz.SavePNG(filepath.Join(*out, fmt.Sprintf("samples_step_%06d.png", s.Step)), img); err != nil {
				fmt.Fprintln(os.Stderr, "grid:", err)
			}
		},
	})
	seconds := (time.Since(start) - evalTime).Seconds() // training only; periodic evaluations excluded
	bar.Done()
	if err := writeGANCurves(*out, trainer.History(), frames); err != nil {
		return err
	}
	if evalErr != nil {
		return fmt.Errorf("-until recognisable: the quality evaluation failed, so the bar cannot be checked (the checkpoint is kept; rerun with -resume): %w", evalErr)
	}
	if trainErr != nil && !((reached != nil || timedOut) && errors.Is(trainErr, context.Canceled) && ctx.Err() == nil) {
		return session.interrupted(trainErr)
	}

	history := trainer.History()
	result := ganMetrics{Arch: *arch, Dataset: *dataset, Steps: trainer.StepCount(), BatchSize: *batch, Seed: *seed,
		Seconds: seconds, Backend: session.backendName, Evaluations: evaluations, TargetReached: reached,
		TimeLimit: timeLimit.Seconds(), TimeLimitReached: timedOut}
	if len(history) > 0 { // -steps 0 on a fresh run trains nothing: no losses to report
		result.FinalDLoss, result.FinalGLoss = history[len(history)-1].DLoss, history[len(history)-1].GLoss
	}
	if done := trainer.StepCount() - startStep; seconds > 0 {
		result.ImagesPerSecond = float64(done*cfg.BatchSize*cfg.DSteps) / seconds
	}
	if *fidSamples > 0 && (*dataset == "mnist" || *dataset == "fashion") {
		samples, err := trainer.SampleRandom(*fidSamples, sampleSeed)
		if err != nil {
			return err
		}
		report, err := judges.evaluate(trainer, *fidSamples, samples)
		if err != nil {
			return err
		}
		result.FID, result.FIDSamples = &report.FID, *fidSamples
		result.ClassesCovered, result.ClassKL, result.ClassHistogram = &report.Coverage.ClassesCovered,
			&report.Coverage.KLFromUniform, report.Coverage.Histogram
		fmt.Fprintf(os.Stderr, "FID %.2f on %d samples against the %d test images; %d/10 classes covered, class KL %.3f\n",
			report.FID, *fidSamples, report.Real, report.Coverage.ClassesCovered, report.Coverage.KLFromUniform)
		// The judge takes the first of the same samples (at most half the test split a side).
		quality, err := judges.judge(trainer, min(*fidSamples, judges.test.N/2), samples)
		if err != nil {
			return err
		}
		pass, lines := metrics.Recognisable.Check(quality)
		result.Quality, result.Recognisable = &quality, &pass
		fmt.Fprintf(os.Stderr, "%s  %s\n", quality, strings.Join(lines, "\n  "))
	}
	return session.writeMetrics(result)
}

// ganRecipe returns the architecture and its tutorial's hyperparameters for a dataset.
func ganRecipe(arch string, train *data.Set) (models.GAN, gan.Config, error) {
	switch arch {
	case "mlp":
		return models.MLP(models.MLPSeed000, train.Height, train.Width, train.Channels), gan.Config{}, nil
	case "mlp-labml":
		// labml's annotated GAN: Adam 2.5e-4, β1 0.5.
		labml := gan.Adam{LearningRate: 2.5e-4, Beta1: 0.5, Beta2: 0.999, Epsilon: 1e-8}
		return models.MLP(models.MLPLabml, train.Height, train.Width, train.Channels), gan.Config{D: labml, G: labml}, nil
	case "dcgan28":
		if train.Channels != 1 {
			return models.GAN{}, gan.Config{}, usageError("-arch dcgan28 is the 28x28 grey-scale tutorial network; %s has %d channels (use -arch dcgan64)", train.Name, train.Channels)
		}
		// The TensorFlow tutorial: Adam(1e-4) with Keras' defaults (β1 0.9, β2 0.999, ε 1e-7).
		tf := gan.Adam{LearningRate: 1e-4, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}
		return models.DCGAN28(models.DCGAN28Tutorial), gan.Config{D: tf, G: tf}, nil
	case "dcgan64":
		c := models.DCGAN64Tutorial
		c.Channels = train.Channels
		return models.DCGAN64(c), gan.Config{}, nil
	}
	return models.GAN{}, gan.Config{}, usageError("unknown -arch %q; valid: mlp, mlp-labml, dcgan28, dcgan64", arch)
}

// writeGANCurves writes losses.svg (D and G loss per step) and progress.gif (the snapshot grids).
func writeGANCurves(dir string, history []gan.StepMetrics, frames []image.Image) error {
	if len(history) > 0 {
		steps := make([]float64, len(history))
		dLoss := make([]float64, len(history))
		gLoss := make([]float64, len(history))
		for i, m := range history {
			steps[i], dLoss[i], gLoss[i] = float64(m.Step), m.DLoss, m.GLoss
		}
		chart := &viz.Chart{Title: "Generator and discriminator loss during training", XLabel: "step", YLabel: "loss",
			Series: []viz.Series{{Name: "D", X: steps, Y: dLoss}, {Name: "G", X: steps, Y: gLoss}}}
		if err := chart.Save(filepath.Join(dir, "losses.svg")); err != nil {
			return err
		}
	}
	if len(frames) > 0 {
		return viz.SaveGIF(filepath.Join(dir, "progress.gif"), frames, 500*time.Millisecond)
	}
	return nil
}

// ganJudges holds what the evaluations of one run share: the dataset's evaluator, its test split
// and a judge (with its real-data floor, computed once) per sample size.
type ganJudges struct {
	dataset   string
	evaluator *metrics.Evaluator
	test      *data.Set
	bySize    map[int]*metrics.Judge
}

// load loads the committed (or cached) evaluator and the test split on first use.
func (j *ganJudges) load() error {
	if j.evaluator != nil {
		return nil
	}
	evaluator, err := metrics.LoadEvaluator(j.dataset)
	if err != nil {
		return err
	}
	test, err := data.Load(j.dataset, data.Test)
	if err != nil {
		return err
	}
	j.evaluator, j.test, j.bySize = evaluator, test, map[int]*metrics.Judge{}
	return nil
}

// sampleSeed is the noise seed of the generated images every evaluation measures.
const sampleSeed = 12345

// evaluate measures the FID and class coverage of n samples of the generator against the whole
// test split.
func (j *ganJudges) evaluate(trainer *gan.Trainer, n int, samples []float32) (metrics.SampleQuality, error) {
	if err := j.load(); err != nil {
		return metrics.SampleQuality{}, err
	}
	h, w, c := trainer.Shape()
	return metrics.EvaluateSamples(j.evaluator, samples, n, h, w, c, j.test, j.test.N)
}

// bySizeJudge returns the judge of n images a side, its real-data floor measured on first use.
func (j *ganJudges) bySizeJudge(n int) (*metrics.Judge, error) {
	if err := j.load(); err != nil {
		return nil, err
	}
	judge := j.bySize[n]
	if judge == nil {
		var err error
		if judge, err = metrics.NewJudge(j.evaluator, j.test, n); err != nil {
			return nil, err
		}
		j.bySize[n] = judge
	}
	return judge, nil
}

// judge measures n samples of the generator with every quality measure, beside the real-data
// floor of n test images: the first n of samples, or n drawn here when samples is nil.
func (j *ganJudges) judge(trainer *gan.Trainer, n int, samples []float32) (metrics.Quality, error) {
	judge, err := j.bySizeJudge(n)
	if err != nil {
		return metrics.Quality{}, err
	}
	h, w, c := trainer.Shape()
	if samples == nil {
		if samples, err = trainer.SampleRandom(n, sampleSeed); err != nil {
			return metrics.Quality{}, err
		}
	}
	return judge.Measure(samples[:n*h*w*c], n, h, w, c)
}
