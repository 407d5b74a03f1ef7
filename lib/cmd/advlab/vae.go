package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/models"
	"github.com/advlab/advlab/lib/progress"
	"github.com/advlab/advlab/lib/vae"
	"github.com/advlab/advlab/lib/viz"
)

func init() {
	trainJobs["vae"] = runTrainVAE
}

// vaeMetrics is what `advlab train vae` writes to metrics.json. Losses are in nats per image.
type vaeMetrics struct {
	Arch       string  `json:"arch"`
	Dataset    string  `json:"dataset"`
	Likelihood string  `json:"likelihood"`
	Beta       float64 `json:"beta"`
	Gamma      float64 `json:"gamma,omitempty"`
	CMax       float64 `json:"capacity_max,omitempty"`
	LatentDim  int     `json:"latent_dim"`
	Epochs     int     `json:"epochs"`
	Steps      int     `json:"steps"`
	BatchSize  int     `json:"batch_size"`
	Seed       uint64  `json:"seed"`
	// TestELBO is the ELBO on the test set (a negative number); TestLoss is −TestELBO,
	// pytorch/examples' "test set loss".
	TestELBO           float64   `json:"test_elbo"`
	TestLoss           float64   `json:"test_loss"`
	TestReconstruction float64   `json:"test_reconstruction"`
	TestKL             float64   `json:"test_kl"`
	KLPerDim           []float64 `json:"kl_per_dim"`
	// TestIWAENLL is the importance-weighted estimate of −log p(x) (null when skipped).
	TestIWAENLL     *float64           `json:"test_iwae_nll"`
	IWAESamples     int                `json:"iwae_k,omitempty"`
	IWAEImages      int                `json:"iwae_images,omitempty"`
	SecondsPerEpoch float64            `json:"seconds_per_epoch"`
	Backend         string             `json:"backend"`
	History         []vae.EpochMetrics `json:"epoch_history"`
}

func runTrainVAE(args []string) error {
	fs := newFlags("train vae", "train vae -arch mlp|conv -beta B -epochs N -latent D -out DIR [-smoke] [flags]")
	arch := fs.String("arch", "mlp", "architecture: mlp (pytorch/examples 784-400-20) or conv (VAAL's conv VAE, 28x28 or 32x32)")
	dataset := fs.String("dataset", "mnist", "training data: mnist, fashion or cifar10")
	likelihood := fs.String("likelihood", "bernoulli", "decoder likelihood: bernoulli (BCE on logits), gaussian (fixed variance) or mse")
	variance := fs.Float64("variance", 1, "σ² of the gaussian likelihood")
	beta := fs.Float64("beta", 1, "weight β of the KL term (1: VAE; > 1: β-VAE)")
	gamma := fs.Float64("gamma", 0, "γ > 0 selects the capacity objective γ·|KL − C| (Burgess et al. 2018)")
	cmax := fs.Float64("cmax", 25, "C_max in nats, the capacity reached at the end of the annealing (with -gamma)")
	capacitySteps := fs.Int("capacity-steps", 100000, "steps over which C rises linearly from 0 to C_max (with -gamma)")
	epochs := fs.Int("epochs", 10, "epochs to train in all (with -resume, counting the checkpoint's)")
	latent := fs.Int("latent", 0, "latent size D (0: the architecture's, 20 for mlp and 32 for conv)")
	width := fs.Float64("width", 1, "channel multiplier of the conv architecture (1: VAAL's 128..1024)")
	batch := fs.Int("batch", 128, "batch size")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate")
	seed := fs.Uint64("seed", 1, "random seed: weights, noise and batch order")
	iwaeK := fs.Int("iwae-k", 100, "importance samples per image for the IWAE log-likelihood estimate (0 skips it)")
	iwaeImages := fs.Int("iwae-images", 2000, "test images in the IWAE estimate (0: all)")
	out := fs.String("out", "", "output directory (required): grids, losses.svg, vae.ckpt, metrics.json")
	resume := fs.Bool("resume", false, "continue from DIR/vae.ckpt")
	force := forceFlag(fs)
	devices := devicesFlag(fs)
	smoke := fs.Bool("smoke", false, "a seconds-long end-to-end run: 512 training and 256 test images, 1 epoch, a narrow conv net")
	if err := parseOptions(fs, args, above("variance", 0), atLeast("beta", 0), atLeast("gamma", 0), atLeast("cmax", 0),
		atLeast("capacity-steps", 0), atLeast("epochs", 0), atLeast("latent", 1).orZero("the architecture's"), above("width", 0),
		atLeast("batch", 1), above("lr", 0), atLeast("iwae-k", 0), atLeast("iwae-images", 0), atLeast("devices", 0)); err != nil {
		return err
	}
	if *out == "" {
		return usageError("-out DIR is required")
	}
	kind, err := vae.ParseLikelihood(*likelihood)
	if err != nil {
		return usageError("%v", err)
	}

	limitTrain, limitTest := 0, 0
	if *smoke {
		limitTrain, limitTest = 512, 256
		*epochs, *batch, *iwaeK, *iwaeImages = 1, 64, 8, 64
		*width = min(*width, 1.0/16)
	}
	train, test, err := loadSplits(*dataset, limitTrain, limitTest)
	if err != nil {
		return err
	}
	net, err := vaeArchitecture(*arch, train, *latent, *width)
	if err != nil {
		return err
	}
	cfg := vae.Config{LatentDim: net.LatentDim, BatchSize: *batch, LearningRate: *lr, Likelihood: kind,
		ObservationVariance: *variance, Beta: *beta, Gamma: *gamma, Seed: *seed, Devices: *devices}
	if *gamma > 0 {
		cfg.CapacityMax, cfg.CapacitySteps = *cmax, *capacitySteps
	}
	session, err := startTraining(*out, "vae.ckpt", *resume, *force)
	if err != nil {
		return err
	}
	defer session.stop()
	if err := session.runSettings("vae", *resume, map[string]string{"arch": *arch, "dataset": *dataset, "width": fmt.Sprint(*width), "likelihood": *likelihood, "smoke": fmt.Sprint(*smoke)}); err != nil {
		return err
	}
	trainer, err := vae.New(session.backend, cfg, net.Encoder, net.Decoder, data.Images{Set: train}) // pixels in [0, 1]
	if err != nil {
		return err
	}
	if *resume {
		if err := session.resume(trainer); err != nil {
			return err
		}
		reportChanges(trainer.ConfigChanges(), trainer.StepCount())
	}

	// Train, writing pytorch/examples' per-epoch reconstruction_N.png and sample_N.png.
	bar := progress.NewBar(os.Stderr, *epochs*trainer.StepsPerEpoch())
	bar.StartStep = trainer.StepCount() // the rate and ETA count this run's steps, not the checkpoint's
	testImages := data.Images{Set: test}
	trainErr := trainer.Train(session.ctx, vae.TrainOptions{
		Epochs: *epochs, Test: testImages, CheckpointPath: session.checkpoint, SnapshotEachEpoch: true,
		OnStep: func(m vae.StepMetrics) {
			bar.Update(m.Step, progress.Scalar{Name: "loss", Value: m.Loss},
				progress.Scalar{Name: "recon", Value: m.Reconstruction}, progress.Scalar{Name: "kl", Value: m.KL})
		},
		OnEpoch: func(m vae.EpochMetrics) {
			fmt.Fprintf(os.Stderr, "\n====> Epoch: %d Average loss: %.4f  Test set loss: %.4f (KL %.2f)  %.1f s\n",
				m.Epoch, m.TrainLoss, m.Test.NegELBO, m.Test.KL, m.Seconds)
		},
		OnSnapshot: func(s vae.Snapshot) {
			for name, images := range map[string]vae.ImageBatch{"reconstruction": s.Reconstructions, "sample": s.Samples} {
				if err := saveVAEGrid(filepath.Join(*out, fmt.Sprintf("%s_%d.png", name, s.Epoch)), images); err != nil {
					fmt.Fprintln(os.Stderr, "grid:", err)
				}
			}
		},
	})
	bar.Done()
	if trainErr != nil {
		return session.interrupted(trainErr)
	}
	history := trainer.Epochs()
	if len(history) == 0 {
		return fmt.Errorf("no epoch completed (the checkpoint already has %d)", trainer.EpochCount())
	}

	// Evaluate and draw the final pictures.
	final := history[len(history)-1]
	result := vaeMetrics{Arch: *arch, Dataset: *dataset, Likelihood: kind.String(), Beta: *beta, Gamma: *gamma,
		LatentDim: net.LatentDim, Epochs: trainer.EpochCount(), Steps: trainer.StepCount(), BatchSize: *batch, Seed: *seed,
		TestELBO: -final.Test.NegELBO, TestLoss: final.Test.NegELBO, TestReconstruction: final.Test.Reconstruction,
		TestKL: final.Test.KL, KLPerDim: final.Test.KLPerDim, Backend: session.backendName, History: history}
	if *gamma > 0 {
		result.CMax = *cmax
	}
	seconds := 0.0
	for _, m := range history {
		seconds += m.Seconds
	}
	result.SecondsPerEpoch = seconds / float64(len(history))
	if *iwaeK > 0 {
		iwae, err := trainer.IWAE(testImages, *iwaeK, *iwaeImages)
		if err != nil {
			return err
		}
		result.TestIWAENLL, result.IWAESamples, result.IWAEImages = &iwae.NLL, iwae.Samples, iwae.Images
		fmt.Fprintf(os.Stderr, "IWAE (k=%d, %d test images): −log p(x) ≈ %.3f nats; −ELBO on the same draws %.3f\n",
			iwae.Samples, iwae.Images, iwae.NLL, iwae.NegELBO)
	}
	if err := writeVAEPictures(*out, trainer, test, final.Test.KLPerDim, history); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "test loss (−ELBO) %.4f nats per image after %d epochs, %.1f s per epoch; results in %s\n",
		final.Test.NegELBO, trainer.EpochCount(), result.SecondsPerEpoch, *out)
	return session.writeMetrics(result)
}

// vaeArchitecture returns the network for -arch on the dataset's image shape.
func vaeArchitecture(arch string, train *data.Set, latent int, width float64) (models.VAE, error) {
	switch arch {
	case "mlp":
		c := models.MLPVAEPyTorch
		c.Height, c.Width, c.Channels = train.Height, train.Width, train.Channels
		if latent > 0 {
			c.LatentDim = latent
		}
		return models.MLPVAE(c), nil
	case "conv":
		if train.Height != train.Width || (train.Height != 28 && train.Height != 32) {
			return models.VAE{}, usageError("-arch conv takes 28x28 or 32x32 images, %s has %dx%d", train.Name, train.Height, train.Width)
		}
		c := models.ConvVAEConfig{Size: train.Height, Channels: train.Channels, LatentDim: 32, Width: width}
		if latent > 0 {
			c.LatentDim = latent
		}
		return models.ConvVAE(c), nil
	}
	return models.VAE{}, usageError("unknown -arch %q; valid: mlp, conv", arch)
}

// saveVAEGrid writes a batch of decoder means (values in [0, 1]) as a grid, upscaled for viewing.
func saveVAEGrid(path string, images vae.ImageBatch) error {
	if images.N == 0 {
		return nil
	}
	img, err := viz.Grid(images.Values, images.N, images.Height, images.Width, images.Channels,
		viz.GridOptions{PerRow: images.PerRow, Range: &[2]float32{0, 1}, Scale: 2})
	if err != nil {
		return err
	}
	return viz.SavePNG(path, img)
}

// writeVAEPictures writes the final reconstructions, samples, latent traversals (the 10 most
// informative dimensions by KL), the 2-D manifold when the latent space has two dimensions, and
// the per-epoch loss curves.
func writeVAEPictures(dir string, trainer *vae.Trainer, test *data.Set, klPerDim []float64, history []vae.EpochMetrics) error {
	snap, err := trainer.TakeSnapshot(data.Images{Set: test})
	if err != nil {
		return err
	}
	if err := saveVAEGrid(filepath.Join(dir, "reconstructions.png"), snap.Reconstructions); err != nil {
		return err
	}
	if err := saveVAEGrid(filepath.Join(dir, "samples.png"), snap.Samples); err != nil {
		return err
	}
	dims := make([]int, len(klPerDim))
	for j := range dims {
		dims[j] = j
	}
	sort.SliceStable(dims, func(a, b int) bool { return klPerDim[dims[a]] > klPerDim[dims[b]] })
	first := make([]float32, test.ImageSize())
	for i, v := range test.Image(0) {
		first[i] = float32(v) / 255
	}
	traversal, err := trainer.Traverse(first, dims[:min(10, len(dims))], 11, 3)
	if err != nil {
		return err
	}
	if err := saveVAEGrid(filepath.Join(dir, "traversals.png"), traversal); err != nil {
		return err
	}
	if trainer.Config().LatentDim == 2 {
		manifold, err := trainer.Manifold(20)
		if err != nil {
			return err
		}
		if err := saveVAEGrid(filepath.Join(dir, "manifold.png"), manifold); err != nil {
			return err
		}
	}
	epochs := make([]float64, len(history))
	trainLoss := make([]float64, len(history))
	testLoss := make([]float64, len(history))
	for i, m := range history {
		epochs[i], trainLoss[i], testLoss[i] = float64(m.Epoch), m.TrainLoss, m.Test.NegELBO
	}
	chart := &viz.Chart{Title: "VAE loss per image (−ELBO for β = 1)", XLabel: "epoch", YLabel: "nats",
		Series: []viz.Series{{Name: "train", X: epochs, Y: trainLoss}, {Name: "test", X: epochs, Y: testLoss}}}
	return chart.Save(filepath.Join(dir, "losses.svg"))
}
