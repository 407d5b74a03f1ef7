// Package bench measures advlab's training speed next to its peers' (PyTorch 2 eager and
// torch.compile, TensorFlow 2, JAX/Flax) on the same machine.
//
// It times full training steps of the tutorials' architectures — the TensorFlow tutorial's
// DCGAN-28 and pytorch/examples' DCGAN-64 at batch 64, pytorch/examples' MLP VAE at batch 128 —
// through the same engines the notebooks use (lib/gan's Trainer.Step, lib/vae's Trainer.Step) on
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

	"github.com/gomlx/compute"

	"github.com/advlab/advlab/lib/active"
	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/gan"
	"github.com/advlab/advlab/lib/models"
	"github.com/advlab/advlab/lib/vae"
)

// Workload is one training step to time.
type Workload struct {
	// Name identifies the workload on the command line and in the JSON ("dcgan28", "dcgan64",
	// "vae", "vaal").
	Name string `json:"name"`
	// Title describes it in words.
	Title string `json:"title"`
	// Batch is the number of images per step.
	Batch int `json:"batch"`
	// FLOPs is the analytic FLOP count of one step (see flops.go).
	FLOPs float64 `json:"flops"`
	// Weights counts the matrix weights of each network ("generator", "discriminator"; "model"
	// for the VAE); a peer's setup reports its own counts, and a cell whose networks differ is
	// refused. Nil: not checked (the VAAL round).
	Weights map[string]int `json:"weights,omitempty"`
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
	g64, d64 := DCGAN64Layers()
	return []Workload{
		{Name: "dcgan28", Title: "DCGAN-28 (TensorFlow tutorial), D step + G step, Adam", Batch: 64,
			FLOPs: GANStepFLOPs(g28, d28, 64), Weights: ganWeights(g28, d28)},
		{Name: "dcgan64", Title: "DCGAN-64 (pytorch/examples, 1 channel), D step + G step, Adam", Batch: 64,
			FLOPs: GANStepFLOPs(g64, d64, 64), Weights: ganWeights(g64, d64)},
		{Name: "vae", Title: "MLP VAE (pytorch/examples/vae), one Adam step", Batch: 128,
			FLOPs: VAEStepFLOPs(MLPVAELayers(), 128), Weights: map[string]int{"model": totalWeights(MLPVAELayers())}},
		{Name: "vaal", Title: fmt.Sprintf("one VAAL round: MLP β-VAE + latent D from scratch, %d iterations, D(μ) over %d images",
			VAALIterations, VAALPool), Batch: 64, FLOPs: VAALRoundFLOPs(VAALIterations, 64, VAALPool)},
	}
}

func ganWeights(generator, discriminator []Layer) map[string]int {
	return map[string]int{"generator": totalWeights(generator), "discriminator": totalWeights(discriminator)}
}

// LookupWorkload returns the workload called name.
func LookupWorkload(name string) (Workload, error) {
	names := ""
	for _, w := range Workloads() {
		if w.Name == name {
			return w, nil
		}
		names += " " + w.Name
	}
	return Workload{}, fmt.Errorf("bench: unknown workload %q (known:%s)", name, names)
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
	switch w.Name {
	case "dcgan28", "dcgan64":
		m := models.DCGAN28(models.DCGAN28Tutorial)
		if w.Name == "dcgan64" {
			m = models.DCGAN64(models.DCGAN64Tutorial)
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
	case "vaal":
		return vaalRound(b, w.Batch, rng)
	}
	return nil, fmt.Errorf("bench: no Go implementation of workload %q", w.Name)
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
