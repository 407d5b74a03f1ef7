// Package bench measures advlab's training speed next to its peers' (PyTorch 2 eager and
// torch.compile, TensorFlow 2, JAX/Flax) on the same machine.
//
// It times full training steps of the tutorials' architectures — the TensorFlow tutorial's
// DCGAN-28 and pytorch/examples' DCGAN-64 at batch 64, pytorch/examples' MLP VAE at batch 128,
// openai/improved-gan's semi-supervised MNIST model at batch 100, a VAAL round; DCGAN-64 also at
// other batches and widths (LookupWorkload's variants, ScalingWorkloads) — through the same engines
// the notebooks use (lib/gan's, lib/vae's and lib/ssl's Trainer.Step, lib/active's VAAL) on
// random data of the real shapes, and the same networks and step in each peer
// (scripts/bench/torch_bench.py, tf_bench.py, jax_bench.py; a peer's networks must have the
// workload's Weights). The first step, which includes graph compilation, is reported
// on its own; the steps after it are timed in short blocks that alternate between the columns
// (advlab on the chosen backend, the peers, advlab on further backends), so that a change in the
// machine's load affects every column alike, and medians are reported.
//
// Each column runs in its own worker process that speaks a line protocol on stdin/stdout (Serve
// is the Go side); Run starts the workers, alternates them, and returns a Report with steps/s,
// images/s, GFLOP/s (from the analytic FLOP counts in flops.go), the fraction of the column's own
// measured matmul peak, and the ratio of each column's step time to the fastest peer's.
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/gomlx/compute"

	"github.com/advlab/advlab/lib/active"
	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/gan"
	"github.com/advlab/advlab/lib/models"
	"github.com/advlab/advlab/lib/ssl"
	"github.com/advlab/advlab/lib/vae"
)

// Workload is one training step to time.
type Workload struct {
	// Name identifies the workload on the command line and in the JSON ("dcgan28", "dcgan64",
	// "vae", "vaal"; a variant of one at another batch or width adds options after slashes, as
	// "dcgan64/batch=128/ngf=32": see LookupWorkload).
	Name string `json:"name"`
	// Base is the workload a variant is of ("dcgan64"); empty for the workloads themselves.
	Base string `json:"base,omitempty"`
	// Title describes it in words.
	Title string `json:"title"`
	// Batch is the number of images per step.
	Batch int `json:"batch"`
	// NGF is DCGAN-64's base width (ngf = ndf; 64 in pytorch/examples); zero for the others.
	NGF int `json:"ngf,omitempty"`
	// FLOPs is the analytic FLOP count of one step (see flops.go).
	FLOPs float64 `json:"flops"`
	// Weights counts the matrix weights of each network ("generator", "discriminator"; "model"
	// for the VAE); a peer's setup reports its own counts, and a cell whose networks differ is
	// refused. Nil: not checked (the VAAL round).
	Weights map[string]int `json:"weights,omitempty"`
}

// BaseName is the name of the workload a variant is of, or the workload's own name.
func (w Workload) BaseName() string {
	if w.Base != "" {
		return w.Base
	}
	return w.Name
}

// The VAAL round the "vaal" workload times: a fresh β-VAE and latent discriminator trained for
// VAALIterations iterations (2 VAE updates and 1 discriminator update each, on 64 labelled and 64
// unlabelled images), then D(μ) over the VAALPool images and the VAALBudget lowest-scored
// unlabelled ones selected. lib/active's default round is 300 iterations on the whole pool; this
// one is scaled down so that a round takes seconds, with the same per-iteration and per-image work.
const (
	VAALIterations = 25
	VAALPool       = 2000
	VAALLabelled   = 200
	VAALBudget     = 100
)

// Workloads returns every workload in the order they are reported.
func Workloads() []Workload {
	g28, d28 := DCGAN28Layers()
	return []Workload{
		{Name: "dcgan28", Title: "DCGAN-28 (TensorFlow tutorial), D step + G step, Adam", Batch: 64,
			FLOPs: GANStepFLOPs(g28, d28, 64), Weights: ganWeights(g28, d28)},
		dcgan64(64, 64),
		{Name: "vae", Title: "MLP VAE (pytorch/examples/vae), one Adam step", Batch: 128,
			FLOPs: VAEStepFLOPs(MLPVAELayers(), 128), Weights: map[string]int{"model": totalWeights(MLPVAELayers())}},
		{Name: "ssl", Title: "semi-supervised GAN (openai/improved-gan MNIST MLP, feature matching), D step + G step, Adam", Batch: SSLBatch,
			FLOPs: SSLStepFLOPs(SSLLayers()), Weights: ganWeights(SSLLayers())},
		{Name: "vaal", Title: fmt.Sprintf("one VAAL round: MLP β-VAE + latent D from scratch, %d iterations, D(μ) over %d images",
			VAALIterations, VAALPool), Batch: 64, FLOPs: VAALRoundFLOPs(VAALIterations, 64, VAALPool)},
	}
}

// dcgan64 is the DCGAN-64 workload at a batch and a base width.
func dcgan64(batch, ngf int) Workload {
	g, d := DCGAN64LayersWidth(ngf)
	return Workload{Name: "dcgan64", Title: "DCGAN-64 (pytorch/examples, 1 channel), D step + G step, Adam", Batch: batch,
		NGF: ngf, FLOPs: GANStepFLOPs(g, d, batch), Weights: ganWeights(g, d)}
}

// The scaling study's points (ScalingWorkloads): DCGAN-64 at these batches (ngf 64) and at these
// widths (batch 64).
var (
	ScalingBatches = []int{16, 32, 64, 128, 256}
	ScalingWidths  = []int{16, 32, 64, 128}
)

// ScalingWorkloads names the DCGAN-64 variants of the scaling study: every batch of ScalingBatches
// at ngf 64, then every width of ScalingWidths at batch 64 (the point batch 64, ngf 64 once).
func ScalingWorkloads() []string {
	var names []string
	for _, b := range ScalingBatches {
		names = append(names, variantName("dcgan64", b, 64, 64, 64))
	}
	for _, ngf := range ScalingWidths {
		if ngf != 64 {
			names = append(names, variantName("dcgan64", 64, ngf, 64, 64))
		}
	}
	return names
}

func ganWeights(generator, discriminator []Layer) map[string]int {
	return map[string]int{"generator": totalWeights(generator), "discriminator": totalWeights(discriminator)}
}

// variantName is the canonical name of base at a batch and width: the options that differ from
// the defaults, batch first ("dcgan64/batch=128/ngf=32").
func variantName(base string, batch, ngf, defaultBatch, defaultNGF int) string {
	name := base
	if batch != defaultBatch {
		name += fmt.Sprintf("/batch=%d", batch)
	}
	if ngf != defaultNGF {
		name += fmt.Sprintf("/ngf=%d", ngf)
	}
	return name
}

// The bounds of a variant's options.
const (
	maxVariantBatch = 4096
	maxVariantNGF   = 512
)

// LookupWorkload returns the workload called name: one of Workloads, or a variant of one with
// options after slashes: "batch=N" (the GANs and the VAE) and "ngf=N" (DCGAN-64's base width, ngf
// = ndf), as in "dcgan64/batch=128/ngf=32". A variant's Name is its canonical form (options that
// differ from the defaults, batch first), which is what the workers receive.
func LookupWorkload(name string) (Workload, error) {
	baseName, options, hasOptions := strings.Cut(name, "/")
	names := ""
	for _, w := range Workloads() {
		names += " " + w.Name
		if w.Name != baseName {
			continue
		}
		if !hasOptions {
			return w, nil
		}
		return variant(w, name, options)
	}
	return Workload{}, fmt.Errorf("bench: unknown workload %q (known:%s; variants such as dcgan64/batch=128/ngf=32)", name, names)
}

// variant parses a workload's options ("batch=128/ngf=32") and returns the workload they make.
func variant(w Workload, name, options string) (Workload, error) {
	batch, ngf := w.Batch, w.NGF
	seen := map[string]bool{}
	for _, option := range strings.Split(options, "/") {
		key, value, ok := strings.Cut(option, "=")
		n, err := strconv.Atoi(value)
		if !ok || err != nil {
			return Workload{}, fmt.Errorf("bench: workload %q: option %q is not KEY=INTEGER (batch=N or ngf=N)", name, option)
		}
		if seen[key] {
			return Workload{}, fmt.Errorf("bench: workload %q: option %s given twice", name, key)
		}
		seen[key] = true
		switch {
		case key == "batch" && (w.Name == "dcgan28" || w.Name == "dcgan64" || w.Name == "vae"):
			if n < 1 || n > maxVariantBatch {
				return Workload{}, fmt.Errorf("bench: workload %q: batch=%d, want 1 to %d", name, n, maxVariantBatch)
			}
			batch = n
		case key == "ngf" && w.Name == "dcgan64":
			if n < 1 || n > maxVariantNGF {
				return Workload{}, fmt.Errorf("bench: workload %q: ngf=%d, want 1 to %d", name, n, maxVariantNGF)
			}
			ngf = n
		default:
			known := "none"
			switch w.Name {
			case "dcgan28", "vae":
				known = "batch"
			case "dcgan64":
				known = "batch, ngf"
			}
			return Workload{}, fmt.Errorf("bench: workload %q: %s has no option %q (it has: %s)", name, w.Name, key, known)
		}
	}
	var v Workload
	switch w.Name {
	case "dcgan28":
		g, d := DCGAN28Layers()
		v = w
		v.FLOPs = GANStepFLOPs(g, d, batch)
	case "dcgan64":
		v = dcgan64(batch, ngf)
	case "vae":
		v = w
		v.FLOPs = VAEStepFLOPs(MLPVAELayers(), batch)
	}
	v.Batch = batch
	v.Name = variantName(w.Name, batch, ngf, w.Batch, w.NGF)
	if v.Name != w.Name {
		v.Base = w.Name
		v.Title += fmt.Sprintf(", batch %d", batch)
		if w.NGF != 0 {
			v.Title += fmt.Sprintf(", ngf = ndf = %d", ngf)
		}
	}
	return v, nil
}

// NewStepper prepares one training step of workload w on backend b, fed with random data of the
// real shape (images in [-1, 1] for the GANs, in [0, 1] for the VAE), and returns a function that
// runs one step. Nothing is compiled until the first call.
func NewStepper(b compute.Backend, w Workload) (step func() error, err error) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Two batches of data: the engines draw a fresh batch (and fresh noise) every step.
	uniform := func(n int, low, high float32) []float32 {
		values := make([]float32, n)
		for i := range values {
			values[i] = low + (high-low)*rng.Float32()
		}
		return values
	}
	switch w.BaseName() {
	case "dcgan28", "dcgan64":
		m := models.DCGAN28(models.DCGAN28Tutorial)
		if w.BaseName() == "dcgan64" {
			c := models.DCGAN64Tutorial
			c.NGF, c.NDF = w.NGF, w.NGF
			m = models.DCGAN64(c)
		}
		n := 2 * w.Batch
		images := gan.FloatImages{Values: uniform(n*m.Height*m.Width*m.Channels, -1, 1), N: n,
			Height: m.Height, Width: m.Width, Channels: m.Channels}
		// Random data would let D win quickly; the divergence check is not what is measured.
		trainer, err := gan.New(b, gan.Config{BatchSize: w.Batch, LatentDim: m.LatentDim, Seed: 1, DivergencePatience: -1},
			m.Generator, m.Discriminator, images)
		if err != nil {
			return nil, err
		}
		return func() error { _, err := trainer.Step(); return err }, nil
	case "vae":
		m := models.MLPVAE(models.MLPVAEPyTorch)
		n := 2 * w.Batch
		images := vae.Floats{Values: uniform(n*m.Height*m.Width*m.Channels, 0, 1), N: n,
			Height: m.Height, Width: m.Width, Channels: m.Channels}
		trainer, err := vae.New(b, vae.Config{BatchSize: w.Batch, LatentDim: m.LatentDim, Seed: 1},
			m.Encoder, m.Decoder, images)
		if err != nil {
			return nil, err
		}
		return func() error { _, err := trainer.Step(); return err }, nil
	case "ssl":
		return sslStep(b, uniform)
	case "vaal":
		return vaalRound(b, w.Batch, rng)
	}
	return nil, fmt.Errorf("bench: no Go implementation of workload %q", w.Name)
}

// SSLBatch is the semi-supervised step's batch: 100 labelled, 100 unlabelled (twice: one batch for
// D, another for feature matching) and 100 generated images, as the reference.
const SSLBatch = 100

// sslStep prepares the "ssl" workload: lib/ssl's trainer with models.ImprovedGANMNIST on random
// images in [0, 1] (2 batches of unlabelled images, one of labelled), the data-dependent
// initialisation on 100 of them done before the step is timed.
func sslStep(b compute.Backend, uniform func(n int, low, high float32) []float32) (func() error, error) {
	m := models.ImprovedGANMNIST()
	n := 2 * SSLBatch
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 10
	}
	images := data.Floats{Values: uniform(n*28*28, 0, 1), Labels: labels, N: n, Height: 28, Width: 28, Channels: 1}
	trainer, err := ssl.New(b, ssl.Config{BatchSize: SSLBatch, Seed: 1, DataInit: SSLBatch}, m.Discriminator, m.Generator, images, images)
	if err != nil {
		return nil, err
	}
	return func() error { _, err := trainer.Step(); return err }, nil
}

// vaalRound prepares the "vaal" workload: a pool of VAALPool random 28x28 images, VAALLabelled of
// them labelled, and a function running one VAAL selection round on it (lib/active's VAAL with
// the MLP VAE, from scratch each round as the reference re-initialises every cycle).
func vaalRound(b compute.Backend, batch int, rng *rand.Rand) (func() error, error) {
	set := &data.Set{Name: "random", N: VAALPool, Height: 28, Width: 28, Channels: 1,
		Images: make([]uint8, VAALPool*28*28), Labels: make([]uint8, VAALPool)}
	for i := range set.Images {
		set.Images[i] = uint8(rng.IntN(256))
	}
	pool := active.NewPool(set)
	labelled, labels := make([]int, VAALLabelled), make([]int, VAALLabelled)
	for i := range labelled {
		labelled[i], labels[i] = i, i%10
	}
	if err := pool.SetLabels(labelled, labels); err != nil {
		return nil, err
	}
	strategy := &active.VAAL{Config: active.VAALConfig{Steps: VAALIterations, BatchSize: batch, Arch: "mlp"}}
	round := 0
	return func() error {
		round++
		query, err := strategy.Select(context.Background(), &active.Round{Number: round, Pool: pool, Budget: VAALBudget,
			RNG: rand.New(rand.NewPCG(uint64(round), 3)), Seed: uint64(round), Backend: b})
		if err == nil && len(query.Indices) != VAALBudget {
			err = fmt.Errorf("bench: vaal selected %d images, want %d", len(query.Indices), VAALBudget)
		}
		return err
	}, nil
}
