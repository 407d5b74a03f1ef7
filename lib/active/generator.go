package active

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/gan"
	"github.com/advlab/advlab/lib/models"
	"github.com/advlab/advlab/lib/nn"
	"github.com/advlab/advlab/lib/progress"
)

// GANConfig configures the GAN that the synthesising strategies (gaal, gaal-mixed, gan-random,
// al-gan) share. Zero fields take the defaults.
type GANConfig struct {
	// Arch is the architecture: "mlp" (labml's fully connected GAN, 100→256→512→1024→pixels with
	// LeakyReLU 0.2 and tanh; fast on a CPU, the default) or "dcgan28" (the TensorFlow tutorial's
	// DCGAN for 28x28x1, the generator PyTorch-GAAL uses in spirit).
	Arch string
	// Steps is the number of generator updates (default 3000: about 16 epochs of MNIST 5 vs 7 at
	// batch 64).
	Steps int
	// BatchSize is the GAN's batch size (default 64).
	BatchSize int
	// Seed seeds the GAN's weights, noise and batch order (default 1).
	Seed uint64
	// CachePath, when set, is the GAN's checkpoint file: a later run (or a resumed one) loads the
	// trained GAN from it instead of training again, and an interrupted training continues from it.
	CachePath string
}

func (c GANConfig) withDefaults() GANConfig {
	if c.Arch == "" {
		c.Arch = "mlp"
	}
	if c.Steps == 0 {
		c.Steps = 3000
	}
	if c.BatchSize == 0 {
		c.BatchSize = 64
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

// GANArchitecture returns the GAN called arch ("mlp" or "dcgan28") for images of the given shape.
func GANArchitecture(arch string, height, width, channels int) (models.GAN, error) {
	switch arch {
	case "mlp":
		return models.MLP(models.MLPLabml, height, width, channels), nil
	case "dcgan28":
		if height != 28 || width != 28 || channels != 1 {
			return models.GAN{}, fmt.Errorf("active: the dcgan28 generator makes 28x28x1 images, the pool holds %dx%dx%d; use -gan mlp",
				height, width, channels)
		}
		return models.DCGAN28(models.DCGAN28Tutorial), nil
	}
	return models.GAN{}, fmt.Errorf("active: unknown GAN architecture %q; valid: mlp, dcgan28", arch)
}

// GAN is a generative adversarial network trained once, on the pool images (their labels unused),
// the first time a strategy needs it, and shared by every strategy and repeat of a run. It is safe
// for concurrent use.
type GAN struct {
	cfg GANConfig

	mu       sync.Mutex
	net      models.GAN
	trainer  *gan.Trainer
	generate *model.Exec // z → images
	boundary *model.Exec // z, w, b → squared distances to the hyperplane, their gradient, images
	doubt    *model.Exec // z, λ → D's doubt + λ·R(z) per image, its gradient, D(G(z)), images
	// Metrics of the trained GAN, for reports.
	lastD, lastG float64
}

// NewGAN returns a GAN that trains on first use.
func NewGAN(cfg GANConfig) *GAN { return &GAN{cfg: cfg.withDefaults()} }

// Config returns the configuration, defaults filled in.
func (g *GAN) Config() GANConfig { return g.cfg }

// LatentDim is the size of z, known once Ready has run.
func (g *GAN) LatentDim() int { return g.net.LatentDim }

// Ready trains the GAN on the images of the round's pool (or loads it from CachePath) unless that
// was done already.
func (g *GAN) Ready(ctx context.Context, r *Round) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.trainer != nil {
		return nil
	}
	set := r.Pool.Set()
	net, err := GANArchitecture(g.cfg.Arch, set.Height, set.Width, set.Channels)
	if err != nil {
		return err
	}
	cfg := gan.Config{LatentDim: net.LatentDim, BatchSize: g.cfg.BatchSize, Seed: g.cfg.Seed}
	trainer, err := gan.New(r.Backend, cfg, net.Generator, net.Discriminator, data.Images{Set: set, Range: PixelRange})
	if err != nil {
		return fmt.Errorf("active: preparing the %s GAN: %w", g.cfg.Arch, err)
	}
	if g.cfg.CachePath != "" {
		err := trainer.Load(g.cfg.CachePath)
		switch {
		case err == nil:
			r.logf("GAN: loaded %s (%d steps)\n", g.cfg.CachePath, trainer.StepCount())
		case errors.Is(err, fs.ErrNotExist):
		default:
			return fmt.Errorf("active: the cached GAN %s does not fit this run (delete it to retrain): %w", g.cfg.CachePath, err)
		}
	}
	if remaining := g.cfg.Steps - trainer.StepCount(); remaining > 0 {
		r.logf("GAN: training the %s GAN on the %d pool images for %d steps\n", g.cfg.Arch, set.N, remaining)
		out := r.Log
		if out == nil {
			out = io.Discard
		}
		bar := progress.NewBar(out, g.cfg.Steps)
		bar.StartStep = trainer.StepCount()
		err := trainer.Train(ctx, gan.TrainOptions{Steps: remaining, CheckpointPath: g.cfg.CachePath, CheckpointEvery: 500,
			OnStep: func(m gan.StepMetrics) {
				bar.Update(m.Step, progress.Scalar{Name: "d_loss", Value: m.DLoss}, progress.Scalar{Name: "g_loss", Value: m.GLoss})
			}})
		bar.Done()
		if err != nil && !errors.Is(err, gan.ErrDiverged) {
			return fmt.Errorf("active: training the GAN: %w", err)
		}
		if err != nil {
			r.logf("GAN: %v (continuing with the generator as it is)\n", err)
		}
	}
	if history := trainer.History(); len(history) > 0 {
		g.lastD, g.lastG = history[len(history)-1].DLoss, history[len(history)-1].GLoss
	}
	g.net, g.trainer = net, trainer
	return g.compile(r.Backend)
}

// images applies the generator in inference mode: its batch norms (DCGAN-28) use the statistics of
// the batch, as lib/gan's samples do.
func (g *GAN) images(z *graph.Node) *graph.Node {
	store := g.trainer.Store()
	nn.UseBatchStatistics(store.RootScope(), z.Graph())
	return g.net.Generator(store.Scope(gan.GeneratorScope), z)
}

func (g *GAN) compile(backend compute.Backend) error {
	store := g.trainer.Store()
	var err error
	if g.generate, err = model.NewExec(backend, store, func(_ *model.Scope, z *graph.Node) *graph.Node {
		return g.images(z)
	}); err != nil {
		return err
	}
	// GAAL: d(z)² = (wᵀG(z) + b)² / ‖w‖², the squared Euclidean distance of G(z) to the hyperplane.
	if g.boundary, err = model.NewExec(backend, store, func(_ *model.Scope, z, w, b *graph.Node) []*graph.Node {
		images := g.images(z)
		flat := graph.Reshape(images, z.Shape().Dimensions[0], -1)                      // [B, P]
		f := graph.Add(graph.ReduceSum(graph.Mul(flat, graph.InsertAxes(w, 0)), -1), b) // [B]
		distance2 := graph.Div(graph.Square(f), graph.ReduceAllSum(graph.Square(w)))    // [B]
		gradient := graph.Gradient(graph.ReduceAllSum(distance2), z)[0]                 // [B, latent]
		return []*graph.Node{distance2, gradient, images}
	}); err != nil {
		return err
	}
	// AL-GAN: (D(G(z)) − ½)² + λ·(‖z‖/√d − 1)² per image.
	g.doubt, err = model.NewExec(backend, store, func(_ *model.Scope, z, lambda *graph.Node) []*graph.Node {
		images := g.images(z)
		logits, _ := g.net.Discriminator(store.Scope(gan.DiscriminatorScope), images)
		d := graph.Sigmoid(graph.Reshape(logits, -1))   // [B]
		doubt := graph.Square(graph.AddScalar(d, -0.5)) // [B]
		dim := float64(z.Shape().Dimensions[1])
		norm := graph.Sqrt(graph.AddScalar(graph.ReduceSum(graph.Square(z), -1), 1e-12))  // [B]
		shell := graph.Square(graph.AddScalar(graph.DivScalar(norm, math.Sqrt(dim)), -1)) // [B]
		objective := graph.Add(doubt, graph.Mul(lambda, shell))                           // [B]
		gradient := graph.Gradient(graph.ReduceAllSum(objective), z)[0]                   // [B, latent]
		return []*graph.Node{objective, gradient, d, images}
	})
	return err
}

// Generate returns G(z) for n latent vectors z ([n, LatentDim] flat): [n, H, W, C] in [-1, 1].
func (g *GAN) Generate(z []float32, n int) ([]float32, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.trainer == nil {
		return nil, fmt.Errorf("active: GAN used before Ready")
	}
	out, err := g.generate.Call(tensors.FromFlatDataAndDimensions(z, n, g.net.LatentDim))
	if err != nil {
		return nil, fmt.Errorf("active: generating: %w", err)
	}
	return tensors.MustCopyFlatData[float32](out[0]), nil
}

// Synthesis is the outcome of an optimisation of latent codes.
type Synthesis struct {
	// Z are the final latent codes [n, LatentDim] and Images their G(z) [n, H, W, C], flat.
	Z, Images []float32
	// Before and After are the per-image objective values at the start and at the end.
	Before, After []float64
}

// NearBoundary runs GAAL's query synthesis (Zhu & Bento 2017, §3): starting from the latent codes
// z0 ([n, LatentDim] flat), steps Adam steps of size lr on each z minimise
//
//	d(z)² = (wᵀG(z) + b)² / ‖w‖²
//
// the squared distance of the generated image to the hyperplane wᵀx + b = 0 (the paper's
// (wᵀG(z) + b)² divided by the constant ‖w‖², which makes the step size independent of the
// SVM's scale). The gradient flows through the trained generator; its weights do not change.
func (g *GAN) NearBoundary(ctx context.Context, w []float32, b float64, z0 []float32, steps int, lr float64) (*Synthesis, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.trainer == nil {
		return nil, fmt.Errorf("active: GAN used before Ready")
	}
	wTensor, bTensor := tensors.FromValue(w), tensors.FromScalar(float32(b))
	return g.optimise(ctx, z0, steps, lr, func(z *tensors.Tensor) ([]*tensors.Tensor, error) {
		return g.boundary.Call(z, wTensor, bTensor)
	})
}

// LeastCertain runs AL-GAN's choice of noise (see ALGAN): from z0, steps Adam steps of size lr on
// each z minimise (D(G(z)) − ½)² + λ·(‖z‖/√d − 1)². It also returns D(G(z)) at the start and at
// the end.
func (g *GAN) LeastCertain(ctx context.Context, z0 []float32, lambda float64, steps int, lr float64) (s *Synthesis, dBefore, dAfter []float64, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.trainer == nil {
		return nil, nil, nil, fmt.Errorf("active: GAN used before Ready")
	}
	lambdaTensor := tensors.FromScalar(float32(lambda))
	s, err = g.optimise(ctx, z0, steps, lr, func(z *tensors.Tensor) ([]*tensors.Tensor, error) {
		out, err := g.doubt.Call(z, lambdaTensor)
		if err != nil {
			return nil, err
		}
		dAfter = toFloat64(tensors.MustCopyFlatData[float32](out[2]))
		if dBefore == nil {
			dBefore = dAfter
		}
		return []*tensors.Tensor{out[0], out[1], out[3]}, nil
	})
	return s, dBefore, dAfter, err
}

// optimise runs steps Adam steps on z0 with the objective graph call (returning per-image
// objectives, their gradient with respect to z, and the images), then evaluates once more. The
// step size decays linearly from lr to 0, which lets the codes settle in the minimum instead of
// circling it at Adam's fixed step length.
func (g *GAN) optimise(ctx context.Context, z0 []float32, steps int, lr float64,
	call func(z *tensors.Tensor) ([]*tensors.Tensor, error)) (*Synthesis, error) {
	latent := g.net.LatentDim
	if len(z0) == 0 || len(z0)%latent != 0 {
		return nil, fmt.Errorf("active: %d latent values, want a positive multiple of %d", len(z0), latent)
	}
	n := len(z0) / latent
	z := append([]float32(nil), z0...)
	adam := newHostAdam(lr, len(z))
	s := &Synthesis{}
	for step := 0; ; step++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out, err := call(tensors.FromFlatDataAndDimensions(z, n, latent))
		if err != nil {
			return nil, fmt.Errorf("active: latent optimisation: %w", err)
		}
		objective := toFloat64(tensors.MustCopyFlatData[float32](out[0]))
		if step == 0 {
			s.Before = objective
		}
		if step == steps {
			s.Z, s.Images, s.After = z, tensors.MustCopyFlatData[float32](out[2]), objective
			return s, nil
		}
		adam.step(z, tensors.MustCopyFlatData[float32](out[1]), 1-float64(step)/float64(steps))
	}
}

func toFloat64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// hostAdam is Adam (Kingma & Ba 2015) on a vector held by the host: the optimiser of latent codes
// (β₁ 0.9, β₂ 0.999, ε 1e-8).
type hostAdam struct {
	lr   float64
	m, v []float64
	t    int
}

func newHostAdam(lr float64, n int) *hostAdam {
	return &hostAdam{lr: lr, m: make([]float64, n), v: make([]float64, n)}
}

// step moves x against grad, with the learning rate multiplied by decay.
func (a *hostAdam) step(x, grad []float32, decay float64) {
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	a.t++
	c1, c2 := 1-math.Pow(beta1, float64(a.t)), 1-math.Pow(beta2, float64(a.t))
	for i, g := range grad {
		a.m[i] = beta1*a.m[i] + (1-beta1)*float64(g)
		a.v[i] = beta2*a.v[i] + (1-beta2)*float64(g)*float64(g)
		x[i] -= float32(decay * a.lr * (a.m[i] / c1) / (math.Sqrt(a.v[i]/c2) + eps))
	}
}
