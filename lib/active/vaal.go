package active

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/gan"
	"github.com/advlab/advlab/lib/models"
	"github.com/advlab/advlab/lib/nn"
	"github.com/advlab/advlab/lib/trainloop"
	"github.com/advlab/advlab/lib/vae"
)

// VAALConfig configures VAAL. Zero fields take the defaults; the reference values of
// sinhasam/vaal are noted where advlab's defaults differ (its 39,062 iterations of a full-width
// VAE per round are days on a CPU).
type VAALConfig struct {
	// Steps is the number of training iterations per round (default 300; VAAL: 39,062).
	Steps int
	// BatchSize is the number of labelled and of unlabelled images per step (default 64; VAAL: 128).
	BatchSize int
	// LatentDim is the size of z (default 32, VAAL's --latent_dim).
	LatentDim int
	// Arch is the VAE: "mlp" (pytorch/examples' fully connected VAE, 784-400-z, the default) or
	// "conv" (VAAL's convolutional VAE, lib/models.ConvVAE). On the pure-Go backend the conv VAE at
	// width 1/16 took 0.3 s per update of batch 16 against 0.04 s for the MLP (a busy 2-core
	// machine), which makes VAAL's hundreds of updates per round a matter of minutes, not seconds.
	Arch string
	// Width scales the conv VAE's channels (default 0.125 of VAAL's 128..1024).
	Width float64
	// Beta weighs the KL term of the β-VAE (default 1, VAAL's --beta).
	Beta float64
	// AdversaryWeight is λ₂, the weight of the VAE's adversarial loss (default 1, VAAL's
	// --adversary_param).
	AdversaryWeight float64
	// VAESteps and AdversarySteps are the VAE and discriminator updates per iteration (defaults 2
	// and 1, VAAL's --num_vae_steps and --num_adv_steps).
	VAESteps, AdversarySteps int
	// LearningRate is Adam's step size for both the VAE and the discriminator (default 5e-4, VAAL's).
	LearningRate float64
}

func (c VAALConfig) withDefaults() VAALConfig {
	if c.Steps == 0 {
		c.Steps = 300
	}
	if c.BatchSize == 0 {
		c.BatchSize = 64
	}
	if c.LatentDim == 0 {
		c.LatentDim = 32
	}
	if c.Arch == "" {
		c.Arch = "mlp"
	}
	if c.Width == 0 {
		c.Width = 0.125
	}
	if c.Beta == 0 {
		c.Beta = 1
	}
	if c.AdversaryWeight == 0 {
		c.AdversaryWeight = 1
	}
	if c.VAESteps == 0 {
		c.VAESteps = 2
	}
	if c.AdversarySteps == 0 {
		c.AdversarySteps = 1
	}
	if c.LearningRate == 0 {
		c.LearningRate = 5e-4
	}
	return c
}

// VAAL is variational adversarial active learning (Sinha, Ebrahimi & Darrell, ICCV 2019). Each
// round it trains, from scratch (as the reference re-initialises every cycle), a β-VAE on the
// labelled and the unlabelled images and a discriminator D on their latent means μ, adversarially
// (the paper's equations 1–4, with λ₁ = 1):
//
//	L_trd = Σ_{x ∈ {x_L, x_U}} ‖x − x̂‖² + β·KL(q(z|x) ‖ N(0, I))                   (eq. 1)
//	L_adv = −log D(μ_L) − log D(μ_U)                                               (eq. 2)
//	L_D   = −log D(μ_L) − log(1 − D(μ_U))                                          (eq. 3)
//	L_VAE = L_trd + λ₂·L_adv                                                       (eq. 4)
//
// with batch means over the images, and each iteration VAESteps updates of
// the VAE then AdversarySteps updates of D (the VAE held fixed). The VAE tries to make every
// image look labelled to D; D learns which regions of the latent space the labelled set does not
// cover. The query (Algorithm 2) is the Budget unlabelled images with the lowest D(μ): those D is
// surest are unlabelled. Selection is task-agnostic: the learner is not consulted.
//
// Scaling: the reference adds a per-pixel mean squared error to a KL summed over the latent
// dimensions, so its VAE loss is of the order of the adversarial term and the VAE can fool D
// outright: D(μ) then sits near ½ for every image (the reference's issue #28). advlab sums the
// squared error over the pixels, the β-VAE's own per-image objective, against which λ₂ = 1 is a
// gentle pull. Measured on MNIST 5 vs 7 with only 5s labelled (60 iterations, MLP VAE): with the
// per-pixel scale D(μ) was 0.477 on labelled and 0.475 on unlabelled images and none of 20
// queries was a 7; with the summed loss 0.79 against 0.31, and all 20 were 7s.
//
// Each round starts the networks afresh from the round's seed, as the reference re-creates them
// every cycle; a VAAL value keeps their compiled graphs from one round to the next (keptNetworks).
type VAAL struct {
	// Config sets the networks and their training.
	Config VAALConfig

	kept keptNetworks[*vaalTrainer]
}

// Name returns "vaal".
func (*VAAL) Name() string { return "vaal" }

// vaalNetworks returns the VAE of cfg for images of set's shape.
func vaalNetworks(cfg VAALConfig, set *data.Set) (models.VAE, error) {
	switch cfg.Arch {
	case "conv":
		if set.Height != set.Width || (set.Height != 28 && set.Height != 32) {
			return models.VAE{}, fmt.Errorf("active: VAAL's conv VAE takes 28x28 or 32x32 images, the pool holds %dx%d; use the mlp VAE",
				set.Height, set.Width)
		}
		return models.ConvVAE(models.ConvVAEConfig{Size: set.Height, Channels: set.Channels, LatentDim: cfg.LatentDim,
			Width: cfg.Width}), nil
	case "mlp":
		return models.MLPVAE(models.MLPVAEConfig{Hidden: 400, LatentDim: cfg.LatentDim, Height: set.Height,
			Width: set.Width, Channels: set.Channels}), nil
	}
	return models.VAE{}, fmt.Errorf("active: unknown VAAL VAE %q; valid: conv, mlp", cfg.Arch)
}

// Scope paths of VAAL's (and ARAL's) networks.
const (
	encoderScope   = "/vae/encoder"
	decoderScope   = "/vae/decoder"
	vaeScope       = "/vae"
	adversaryScope = "/adversary"
)

// LatentAdversary is VAAL's discriminator on latent codes: Dense 512 → ReLU → Dense 512 → ReLU →
// Dense 1, returning logits [B] (D = σ(logits) is the probability that the code's image is
// labelled). ARAL's sampler has the same shape.
func LatentAdversary(scope *model.Scope, mu *graph.Node) *graph.Node {
	relu := func(x *graph.Node) *graph.Node { return graph.Max(x, graph.ZerosLike(x)) }
	h := relu(nn.Dense(scope.In("fc1"), mu, 512)) // [B, 512]
	h = relu(nn.Dense(scope.In("fc2"), h, 512))   // [B, 512]
	logits := nn.Dense(scope.In("out"), h, 1)     // [B, 1]
	return graph.Reshape(logits, -1)              // [B]
}

// vaalTrainer holds VAAL's networks and their compiled graphs.
type vaalTrainer struct {
	cfg      VAALConfig
	backend  compute.Backend
	net      models.VAE
	store    *model.Store
	vaeStep  *model.Exec
	advStep  *model.Exec
	score    *model.Exec
	height   int
	width    int
	channels int
}

// trd is the β-VAE loss of images x with noise eps (batch mean of the per-image loss), and μ.
func (t *vaalTrainer) trd(x, eps *graph.Node) (loss, mu *graph.Node) {
	mu, logvar := t.net.Encoder(t.store.Scope(encoderScope), x)
	z := vae.Reparameterize(mu, logvar, eps)
	return BetaVAELoss(x, t.net.Decoder(t.store.Scope(decoderScope), z), mu, logvar, t.cfg.Beta), mu
}

// BetaVAELoss is the β-VAE objective of VAAL's equation 1 for one batch, the batch mean of
//
//	‖x − x̂‖² + β·KL(N(μ, σ²) ‖ N(0, I))
//
// summed over the pixels and the latent dimensions (a Gaussian decoder's negative ELBO up to
// constants, in nats when β = 1): x and its reconstruction x̂ are [B, H, W, C], mu and logvar
// [B, latent].
func BetaVAELoss(x, reconstruction, mu, logvar *graph.Node, beta float64) *graph.Node {
	perImage := graph.Add(vae.ReconstructionNLL(vae.MSE, reconstruction, x, 1), graph.MulScalar(vae.KLDivergence(mu, logvar), beta))
	return graph.ReduceAllMean(perImage)
}

func (t *vaalTrainer) adversary(mu *graph.Node) *graph.Node {
	return LatentAdversary(t.store.Scope(adversaryScope), mu)
}

// newVAALTrainer builds VAAL's networks and compiles their training graphs.
func newVAALTrainer(r *Round, cfg VAALConfig) (_ *vaalTrainer, err error) {
	set := r.Pool.Set()
	net, err := vaalNetworks(cfg, set)
	if err != nil {
		return nil, err
	}
	t := &vaalTrainer{cfg: cfg, backend: r.Backend, net: net, store: model.NewStore(), height: set.Height, width: set.Width,
		channels: set.Channels}
	defer func() {
		if err != nil {
			t.store.Finalize()
		}
	}()
	adam := func() optimizer.Interface {
		return optimizer.Adam().LearningRate(cfg.LearningRate).Betas(0.9, 0.999).Epsilon(1e-8).Done()
	}
	// (1) Update the VAE: minimise L_trd + λ₂·L_adv, fooling D into calling every code labelled.
	if t.vaeStep, err = model.NewExec(r.Backend, t.store, func(_ *model.Scope, xL, xU, epsL, epsU *graph.Node) *graph.Node {
		g := xL.Graph()
		t.store.SetTraining(g, true)
		trdL, muL := t.trd(xL, epsL)
		trdU, muU := t.trd(xU, epsU)
		adv := graph.Add(gan.BCEWithLogits(t.adversary(muL), 1), gan.BCEWithLogits(t.adversary(muU), 1))
		trd := graph.Add(trdL, trdU)
		loss := graph.Add(trd, graph.MulScalar(adv, cfg.AdversaryWeight))
		adam().UpdateGraph(t.store.Scope(vaeScope), g, loss)
		return graph.Stack([]*graph.Node{loss, trd, adv}, 0) // L_VAE, L_trd, L_adv
	}); err != nil {
		return nil, err
	}
	// (2) Update D: minimise −log D(μ_L) − log(1 − D(μ_U)), the VAE held fixed.
	if t.advStep, err = model.NewExec(r.Backend, t.store, func(_ *model.Scope, xL, xU *graph.Node) *graph.Node {
		g := xL.Graph()
		t.store.SetTraining(g, true)
		muL, _ := t.net.Encoder(t.store.Scope(encoderScope), xL)
		muU, _ := t.net.Encoder(t.store.Scope(encoderScope), xU)
		loss := gan.DiscriminatorLoss(t.adversary(graph.StopGradient(muL)), t.adversary(graph.StopGradient(muU)), 1)
		adam().UpdateGraph(t.store.Scope(adversaryScope), g, loss)
		return loss
	}); err != nil {
		return nil, err
	}
	// Build and compile both training graphs now, so that every variable exists before any runs
	// (keptNetworks returns to that state every round).
	images := shapes.Make(dtypes.Float32, cfg.BatchSize, set.Height, set.Width, set.Channels)
	eps := shapes.Make(dtypes.Float32, cfg.BatchSize, cfg.LatentDim)
	if _, err = t.vaeStep.Compile(images, images, eps, eps); err != nil {
		return nil, fmt.Errorf("active: vaal: compiling the VAE step: %w", err)
	}
	if _, err = t.advStep.Compile(images, images); err != nil {
		return nil, fmt.Errorf("active: vaal: compiling the discriminator step: %w", err)
	}
	return t, nil
}

func (t *vaalTrainer) storeOf() *model.Store { return t.store }

// scorer returns the scoring graph, D(μ) in inference mode.
func (t *vaalTrainer) scorer() (*model.Exec, error) {
	return inferenceExec(t.backend, &t.score, func() (*model.Exec, error) {
		return model.NewExec(t.backend, t.store, func(_ *model.Scope, x *graph.Node) *graph.Node {
			mu, _ := t.net.Encoder(t.store.Scope(encoderScope), x)
			return graph.Sigmoid(t.adversary(mu))
		})
	})
}

// imagesTensor wraps n images ([n, h, w, c] flat) as a tensor.
func imagesTensor(values []float32, n, h, w, c int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(values, n, h, w, c)
}

// Select trains VAAL's networks on the round's pool and queries the unlabelled images with the
// lowest D(μ). Its metrics are the last VAE and discriminator losses and the mean D(μ) of the
// labelled and of the unlabelled images.
func (s *VAAL) Select(ctx context.Context, r *Round) (Query, error) {
	trace, err := s.run(ctx, r)
	if err != nil {
		return Query{}, err
	}
	return trace.Query, nil
}

// VAALLossNames name the losses of a VAAL trace, one value per training iteration each: the VAE's
// objective L_VAE = L_trd + λ₂·L_adv (eq. 4) and its two terms (eqs. 1 and 2), and the
// discriminator's L_D (eq. 3), each the mean over the iteration's updates.
var VAALLossNames = []string{"L_VAE", "L_trd", "L_adv", "L_D"}

// run is Select, returning with the query the losses of every iteration and the score of every
// image (LatentTrace).
func (s *VAAL) run(ctx context.Context, r *Round) (*LatentTrace, error) {
	cfg := s.Config.withDefaults()
	set := r.Pool.Set()
	s.kept.mu.Lock()
	defer s.kept.mu.Unlock()
	key := struct {
		backend                 compute.Backend
		cfg                     VAALConfig
		height, width, channels int
	}{r.Backend, cfg, set.Height, set.Width, set.Channels}
	t, err := s.kept.get(key, r.Seed, func() (*vaalTrainer, error) { return newVAALTrainer(r, cfg) })
	if err != nil {
		return nil, err
	}
	trace, err := t.round(ctx, r, s.Name())
	if err != nil {
		s.kept.drop()
	}
	return trace, err
}

// round trains the networks from their initial state on r's pool and scores the pool.
func (t *vaalTrainer) round(ctx context.Context, r *Round, name string) (*LatentTrace, error) {
	cfg := t.cfg
	labelled := r.Pool.TrainingSet()
	unlabelled := r.Pool.Unlabelled()
	trace := &LatentTrace{Strategy: name, LossNames: VAALLossNames, Losses: make([][]float64, len(VAALLossNames))}
	if len(unlabelled) == 0 {
		return trace, nil
	}
	rng := rand.New(rand.NewPCG(r.Seed, 0xeaa1))
	order := trainloop.NewOrder(r.Seed, cfg.BatchSize, len(unlabelled), labelled.N)
	size := t.height * t.width * t.channels
	xL, xU := make([]float32, cfg.BatchSize*size), make([]float32, cfg.BatchSize*size)
	nextBatch := func() (*tensors.Tensor, *tensors.Tensor) {
		batch := order.Next()
		data.Images{Set: r.Pool.Set(), Indices: pick(unlabelled, batch[0]), Range: PixelRange}.Gather(seq(cfg.BatchSize), xU)
		labelled.Gather(batch[1], xL)
		return imagesTensor(xL, cfg.BatchSize, t.height, t.width, t.channels), imagesTensor(xU, cfg.BatchSize, t.height, t.width, t.channels)
	}
	noise := func() *tensors.Tensor {
		return tensors.FromFlatDataAndDimensions(normalDraws(rng, cfg.BatchSize*cfg.LatentDim), cfg.BatchSize, cfg.LatentDim)
	}
	var vaeLoss, advLoss float64
	r.logf("vaal: training the VAE and the latent discriminator, %d iterations\n", cfg.Steps)
	for step := range cfg.Steps {
		if step%10 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var iteration [4]float64 // L_VAE, L_trd, L_adv, L_D summed over the iteration's updates
		for range cfg.VAESteps {
			l, u := nextBatch()
			out, err := t.vaeStep.Call(l, u, noise(), noise())
			if err != nil {
				return nil, fmt.Errorf("active: vaal: VAE step %d: %w", step+1, err)
			}
			losses := tensors.MustCopyFlatData[float32](out[0])
			vaeLoss = float64(losses[0])
			for k := range 3 {
				iteration[k] += float64(losses[k]) / float64(cfg.VAESteps)
			}
		}
		for range cfg.AdversarySteps {
			l, u := nextBatch()
			out, err := t.advStep.Call(l, u)
			if err != nil {
				return nil, fmt.Errorf("active: vaal: discriminator step %d: %w", step+1, err)
			}
			advLoss = float64(tensors.ToScalar[float32](out[0]))
			iteration[3] += advLoss / float64(cfg.AdversarySteps)
		}
		for k, v := range iteration {
			trace.Losses[k] = append(trace.Losses[k], v)
		}
	}
	score, err := t.scorer()
	if err != nil {
		return nil, fmt.Errorf("active: vaal: %w", err)
	}
	scores, err := lowestScores(r, score, unlabelled, labelled, size, t.height, t.width, t.channels)
	if err != nil {
		return nil, fmt.Errorf("active: vaal: %w", err)
	}
	trace.setScores(r.Pool, unlabelled, scores)
	trace.Query = Query{Indices: scores.picked, Metrics: map[string]float64{
		"vae_loss": vaeLoss, "d_loss": advLoss, "d_labelled": mean(scores.labelled), "d_unlabelled": mean(scores.unlabelled)}}
	return trace, nil
}

// latentScores are the scores lowestScores computed: one per unlabelled pool image and one per
// labelled training example, and the unlabelled images picked.
type latentScores struct {
	unlabelled, labelled []float64
	picked               []int
}

// lowestScores runs the scoring graph score (VAAL's D(μ), ARAL's sampler) over the unlabelled pool
// images and over the labelled training images, and returns both groups' scores with the r.Budget
// unlabelled pool indices with the lowest scores (the most "unlabelled-like").
func lowestScores(r *Round, score *model.Exec, unlabelled []int, labelled data.Floats, size, height, width,
	channels int) (latentScores, error) {
	scoreImages := func(values []float32, n int) ([]float64, error) {
		return scoreInBatches(values, n, size, func(batch []float32, b int) ([]float32, error) {
			out, err := score.Call(imagesTensor(batch, b, height, width, channels))
			if err != nil {
				return nil, err
			}
			return tensors.MustCopyFlatData[float32](out[0]), nil
		})
	}
	scores, err := scoreImages(r.Pool.Images(unlabelled), len(unlabelled))
	if err != nil {
		return latentScores{}, fmt.Errorf("scoring the pool: %w", err)
	}
	labelledScores, err := scoreImages(labelled.Values, labelled.N)
	if err != nil {
		return latentScores{}, fmt.Errorf("scoring the labelled images: %w", err)
	}
	lowest := make([]float64, len(scores))
	for i, v := range scores {
		lowest[i] = -v
	}
	return latentScores{unlabelled: scores, labelled: labelledScores, picked: pick(unlabelled, TopK(lowest, r.Budget))}, nil
}

// scoreInBatches runs score on n images ([n, ...] flat, size values each) in batches of
// inferenceBatch(n), padding the last with zeros, and returns one score per image.
func scoreInBatches(values []float32, n, size int, score func(batch []float32, b int) ([]float32, error)) ([]float64, error) {
	b := inferenceBatch(n)
	buffer := make([]float32, b*size)
	out := make([]float64, 0, n)
	for start := 0; start < n; start += b {
		count := min(b, n-start)
		copy(buffer, values[start*size:(start+count)*size])
		clear(buffer[count*size:])
		scores, err := score(buffer, b)
		if err != nil {
			return nil, err
		}
		out = append(out, toFloat64(scores[:count])...)
	}
	return out, nil
}

// mean is the arithmetic mean of xs (0 for none).
func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}
