package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
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
	FinalDLoss      float64  `json:"final_d_loss"`
	FinalGLoss      float64  `json:"final_g_loss"`
	// Evaluations are the periodic measurements of -eval-every.
	Evaluations []ganEvaluation `json:"evaluations,omitempty"`
	// TargetReached is the first evaluation with FID <= -fid-target and every class covered.
	TargetReached *ganEvaluation `json:"target_reached,omitempty"`
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
	evalEvery := fs.Int("eval-every", 0, "measure FID and class coverage every N steps during training (0: only at the end)")
	evalSamples := fs.Int("eval-samples", 2000, "generated images per periodic evaluation")
	fidTarget := fs.Float64("fid-target", 0, "with -eval-every: stop once FID <= this and all 10 classes are covered (0: never stop early)")
	devices := devicesFlag(fs)
	if err := parseOptions(fs, args, atLeast("steps", 0), atLeast("batch", 1), atLeast("snapshot-every", 0),
		atLeast("checkpoint-every", 0), atLeast("fid-samples", 2).orZero("no evaluation"), above("lr", 0).orZero("the architecture's default"),
		within("beta1", 0, 1, true, true).orZero("the architecture's default"), atLeast("eval-every", 0), atLeast("eval-samples", 2),
		atLeast("fid-target", 0), atLeast("devices", 0)); err != nil {
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
	var evalTime time.Duration
	start := time.Now()
	trainCtx, stopTraining := context.WithCancel(ctx)
	defer stopTraining()
	trainErr := trainer.Train(trainCtx, gan.TrainOptions{
		Steps: *steps, SnapshotEvery: *snapshotEvery, CheckpointPath: session.checkpoint, CheckpointEvery: *checkpointEvery,
		OnWarning: func(w string) { fmt.Fprintf(os.Stderr, "\nwarning: %s\n", w) },
		OnStep: func(m gan.StepMetrics) {
			bar.Update(m.Step, progress.Scalar{Name: "d_loss", Value: m.DLoss}, progress.Scalar{Name: "g_loss", Value: m.GLoss},
				progress.Scalar{Name: "D(x)", Value: m.DReal}, progress.Scalar{Name: "D(G(z))", Value: m.DFakeBefore})
			if *evalEvery == 0 || m.Step%*evalEvery != 0 {
				return
			}
			evalStart := time.Now()
			quality, err := evaluateGAN(trainer, *dataset, *evalSamples)
			evalTime += time.Since(evalStart)
			if err != nil {
				fmt.Fprintln(os.Stderr, "evaluation:", err)
				return
			}
			e := ganEvaluation{Step: m.Step, TrainSeconds: (time.Since(start) - evalTime).Seconds(), FID: quality.FID,
				Samples: quality.Generated, ClassesCovered: quality.Coverage.ClassesCovered, ClassKL: quality.Coverage.KLFromUniform}
			evaluations = append(evaluations, e)
			fmt.Fprintf(os.Stderr, "\nstep %d (%s): FID %.2f on %d samples, %d/10 classes, class KL %.3f\n",
				e.Step, trainingTime(e.TrainSeconds, startStep), e.FID, e.Samples, e.ClassesCovered, e.ClassKL)
			if reached == nil && *fidTarget > 0 && e.FID <= *fidTarget && e.ClassesCovered == 10 {
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
	if trainErr != nil && !(reached != nil && errors.Is(trainErr, context.Canceled) && ctx.Err() == nil) {
		return session.interrupted(trainErr)
	}

	history := trainer.History()
	result := ganMetrics{Arch: *arch, Dataset: *dataset, Steps: trainer.StepCount(), BatchSize: *batch, Seed: *seed,
		Seconds: seconds, Backend: session.backendName, Evaluations: evaluations, TargetReached: reached}
	if len(history) > 0 { // -steps 0 on a fresh run trains nothing: no losses to report
		result.FinalDLoss, result.FinalGLoss = history[len(history)-1].DLoss, history[len(history)-1].GLoss
	}
	if done := trainer.StepCount() - startStep; seconds > 0 {
		result.ImagesPerSecond = float64(done*cfg.BatchSize*cfg.DSteps) / seconds
	}
	if *fidSamples > 0 && (*dataset == "mnist" || *dataset == "fashion") {
		report, err := evaluateGAN(trainer, *dataset, *fidSamples)
		if err != nil {
			return err
		}
		result.FID, result.FIDSamples = &report.FID, *fidSamples
		result.ClassesCovered, result.ClassKL, result.ClassHistogram = &report.Coverage.ClassesCovered,
			&report.Coverage.KLFromUniform, report.Coverage.Histogram
		fmt.Fprintf(os.Stderr, "FID %.2f on %d samples; %d/10 classes covered, class KL %.3f\n",
			report.FID, *fidSamples, report.Coverage.ClassesCovered, report.Coverage.KLFromUniform)
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

// evaluateGAN measures n samples of the trained generator against the dataset's test split with
// the committed (or cached) evaluator.
func evaluateGAN(trainer *gan.Trainer, dataset string, n int) (metrics.SampleQuality, error) {
	evaluator, err := metrics.LoadEvaluator(dataset)
	if err != nil {
		return metrics.SampleQuality{}, err
	}
	test, err := data.Load(dataset, data.Test)
	if err != nil {
		return metrics.SampleQuality{}, err
	}
	samples, err := trainer.SampleRandom(n, 12345)
	if err != nil {
		return metrics.SampleQuality{}, err
	}
	h, w, c := trainer.Shape()
	return metrics.EvaluateSamples(evaluator, samples, n, h, w, c, test, test.N)
}
