package vae

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best with the ops unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/advlab/advlab/lib/parallel"
	"github.com/advlab/advlab/lib/trainloop"
)

// StepMetrics are the scalars of one training step, each averaged over the batch (per image).
type StepMetrics struct {
	// Step counts updates, starting at 1.
	Step int `json:"step"`
	// Epoch is the epoch the step belongs to, starting at 1.
	Epoch int `json:"epoch"`
	// Loss is the objective minimised: Reconstruction + β·KL, or Reconstruction + γ·|KL − C|.
	Loss float64 `json:"loss"`
	// Reconstruction is −log p(x|z) summed over pixels, for one draw of z.
	Reconstruction float64 `json:"reconstruction"`
	// KL is KL(q(z|x) ‖ N(0, I)) summed over latent dimensions.
	KL float64 `json:"kl"`
	// Capacity is the KL target C of this step (0 unless Config.Gamma > 0).
	Capacity float64 `json:"capacity,omitempty"`
}

// NegELBO is Reconstruction + KL, the negative ELBO per image (pytorch/examples' "loss"); it
// equals Loss when β = 1.
func (m StepMetrics) NegELBO() float64 { return m.Reconstruction + m.KL }

// EvalMetrics summarise a model on a set of images, each a mean per image.
type EvalMetrics struct {
	// Images is the number of images evaluated.
	Images int `json:"images"`
	// NegELBO is −ELBO = Reconstruction + KL in nats per image (pytorch/examples' "test set loss").
	NegELBO float64 `json:"neg_elbo"`
	// Reconstruction is −log p(x|z) for one draw of z ~ q(z|x) per image.
	Reconstruction float64 `json:"reconstruction"`
	// KL is the closed-form KL(q(z|x) ‖ N(0, I)).
	KL float64 `json:"kl"`
	// KLPerDim is the KL of each latent dimension, averaged over the images (see KLPerDimension).
	KLPerDim []float64 `json:"kl_per_dim"`
}

// EpochMetrics are reported at the end of every epoch of Train.
type EpochMetrics struct {
	// Epoch counts completed epochs, starting at 1.
	Epoch int `json:"epoch"`
	// Step is the number of updates done at the end of the epoch.
	Step int `json:"step"`
	// TrainLoss is the mean of the epoch's step losses (pytorch/examples' "Average loss").
	TrainLoss float64 `json:"train_loss"`
	// TrainNegELBO is the mean of the epoch's per-step negative ELBOs.
	TrainNegELBO float64 `json:"train_neg_elbo"`
	// Test is the evaluation on TrainOptions.Test (nil without a test set).
	Test *EvalMetrics `json:"test,omitempty"`
	// Seconds is the wall time of the epoch's training steps in this process (evaluation and
	// snapshots excluded; a resumed epoch counts only the steps run after resuming).
	Seconds float64 `json:"seconds"`
}

// Trainer trains one encoder and one decoder. Create it with New; it is not safe for concurrent
// use.
type Trainer struct {
	cfg     Config
	backend compute.Backend
	store   *model.Store
	encoder Encoder
	decoder Decoder
	images  Images

	trainStep, evaluate, importance, encode, decode *model.Exec
	parallel                                        *parallel.DataParallel // the train step's devices (Config.Devices); nil: one device

	state   *trainloop.State[Config] // step count, batch order, ε draws (state.RNG).
	history []StepMetrics
	epochs  []EpochMetrics

	fixedNoise []float32
	batch      []float32
	eps        []float32
}

// New prepares a trainer for the encoder and decoder on images; nothing is compiled until first
// use.
func New(backend compute.Backend, cfg Config, encoder Encoder, decoder Decoder, images Images) (*Trainer, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if images == nil || images.Len() < cfg.BatchSize {
		n := 0
		if images != nil {
			n = images.Len()
		}
		return nil, fmt.Errorf("vae: %d training images, want at least one batch of %d", n, cfg.BatchSize)
	}
	t := &Trainer{cfg: cfg, backend: backend, store: model.NewStore(), encoder: encoder, decoder: decoder, images: images}
	t.store.RootScope().SetParam(model.ParamInitialSeed, int64(cfg.Seed)+1) // 0 would mean "random".
	// Checkpoints hold the configuration without Devices: a run resumes on any number of devices.
	identity := cfg
	identity.Devices = 0
	t.state = trainloop.NewState("vae", identity, cfg.Seed, cfg.BatchSize, images.Len())
	t.state.Tunable = func(c Config) Config { c.LearningRate = 0; return c } // resumable with another rate
	t.fixedNoise = make([]float32, cfg.Snapshot.Samples*cfg.LatentDim)
	fillNormal(rand.New(rand.NewPCG(cfg.Seed, 0xf1ed)), t.fixedNoise)
	t.batch = make([]float32, cfg.BatchSize*t.imageSize())
	t.eps = make([]float32, cfg.BatchSize*cfg.LatentDim)

	var err error
	if t.trainStep, err = model.NewExec(backend, t.store, t.buildTrainStep); err != nil {
		return nil, err
	}
	if cfg.Devices > 0 {
		if t.parallel, err = parallel.New(backend, cfg.Devices, "vae"); err != nil {
			return nil, err
		}
		// x and ε split over the devices; the capacity C (a scalar) given to all.
		t.trainStep = t.parallel.Configure(t.trainStep, parallel.Batch, parallel.Batch, parallel.Replicated)
	}
	if t.evaluate, err = model.NewExec(backend, t.store, t.buildEvaluate); err != nil {
		return nil, err
	}
	if t.importance, err = model.NewExec(backend, t.store, t.buildImportance); err != nil {
		return nil, err
	}
	if t.encode, err = model.NewExec(backend, t.store, func(scope *model.Scope, x *Node) []*Node {
		mu, logvar := t.runEncoder(x)
		return []*Node{mu, logvar}
	}); err != nil {
		return nil, err
	}
	if t.decode, err = model.NewExec(backend, t.store, func(scope *model.Scope, z *Node) *Node {
		return MeanImage(t.cfg.Likelihood, t.runDecoder(z))
	}); err != nil {
		return nil, err
	}
	// Encode and Decode take any number of images or codes: one compiled graph per size.
	t.encode.SetMaxCache(-1)
	t.decode.SetMaxCache(-1)
	return t, nil
}

// Config returns the configuration in use (defaults filled in).
func (t *Trainer) Config() Config { return t.cfg }

// Store returns the model store holding both networks' variables and the optimizer state.
func (t *Trainer) Store() *model.Store { return t.store }

// StepCount is the number of updates done so far.
func (t *Trainer) StepCount() int { return t.state.Step }

// EpochCount is the number of completed epochs.
func (t *Trainer) EpochCount() int { return t.state.Order.Epoch() }

// StepsPerEpoch is the number of updates in one pass over the training images (a final partial
// batch is dropped, as PyTorch's drop_last).
func (t *Trainer) StepsPerEpoch() int { return t.state.Order.BatchesPerEpoch() }

// History returns the metrics of every step so far.
func (t *Trainer) History() []StepMetrics { return t.history }

// Epochs returns the metrics of every completed epoch of Train so far.
func (t *Trainer) Epochs() []EpochMetrics { return t.epochs }

// FixedNoise returns the fixed latent vectors decoded for snapshots ([Snapshot.Samples,
// LatentDim], flat).
func (t *Trainer) FixedNoise() []float32 { return t.fixedNoise }

// ImageShape returns the height, width and channels of the images the trainer works on.
func (t *Trainer) ImageShape() (height, width, channels int) { return t.images.Shape() }

func (t *Trainer) imageSize() int {
	h, w, c := t.images.Shape()
	return h * w * c
}

func fillNormal(rng *rand.Rand, dst []float32) {
	for i := range dst {
		dst[i] = float32(rng.NormFloat64())
	}
}

// runEncoder applies the encoder and checks its output shapes.
func (t *Trainer) runEncoder(x *Node) (mu, logvar *Node) {
	mu, logvar = t.encoder(t.store.Scope(EncoderScope), x)
	want := []int{x.Shape().Dimensions[0], t.cfg.LatentDim}
	for _, out := range []*Node{mu, logvar} {
		if dims := out.Shape().Dimensions; len(dims) != 2 || dims[0] != want[0] || dims[1] != want[1] {
			exceptions.Panicf("vae: the encoder returned %s, want [%d %d] (batch, Config.LatentDim)",
				out.Shape(), want[0], want[1])
		}
	}
	return mu, logvar
}

// runDecoder applies the decoder and checks its output shape against the images'.
func (t *Trainer) runDecoder(z *Node) *Node {
	out := t.decoder(t.store.Scope(DecoderScope), z)
	h, w, c := t.images.Shape()
	if dims := out.Shape().Dimensions; len(dims) != 4 || dims[1] != h || dims[2] != w || dims[3] != c {
		exceptions.Panicf("vae: the decoder returned %s, want [batch %d %d %d]", out.Shape(), h, w, c)
	}
	return out
}

// terms returns the per-image reconstruction term, the closed-form KL and the per-dimension KL of
// images x with noise eps ([B, D]).
func (t *Trainer) terms(x, eps *Node) (reconstruction, kl, klPerDim *Node) {
	mu, logvar := t.runEncoder(x)                                                              // [B, D] each
	z := Reparameterize(mu, logvar, eps)                                                       // [B, D]
	output := t.runDecoder(z)                                                                  // [B, H, W, C]
	reconstruction = ReconstructionNLL(t.cfg.Likelihood, output, x, t.cfg.ObservationVariance) // [B]
	klPerDim = KLPerDimension(mu, logvar)                                                      // [B, D]
	return reconstruction, ReduceSum(klPerDim, -1), klPerDim
}

// buildTrainStep builds one update: the batch-mean objective and Adam on both networks. It returns
// [loss, reconstruction, KL] per image.
func (t *Trainer) buildTrainStep(scope *model.Scope, x, eps, capacity *Node) *Node {
	g := x.Graph()
	t.store.SetTraining(g, true)
	reconstruction, kl, _ := t.terms(x, eps)
	loss := ReduceAllMean(Objective(reconstruction, kl, t.cfg.Beta, t.cfg.Gamma, capacity))
	optimizer.Adam().LearningRate(t.cfg.LearningRate).Betas(0.9, 0.999).Epsilon(1e-8).Done().
		UpdateGraph(t.store.RootScope(), g, loss)
	return Stack([]*Node{loss, ReduceAllMean(reconstruction), ReduceAllMean(kl)}, 0)
}

// buildEvaluate returns, per image (inference mode), the reconstruction term, the KL and the KL
// per dimension.
func (t *Trainer) buildEvaluate(scope *model.Scope, x, eps *Node) []*Node {
	reconstruction, kl, klPerDim := t.terms(x, eps)
	return []*Node{reconstruction, kl, klPerDim}
}

// buildImportance returns the log importance weights [B, k] of k draws per image, eps [B, k, D].
func (t *Trainer) buildImportance(scope *model.Scope, x, eps *Node) *Node {
	dims := eps.Shape().Dimensions
	b, k, d := dims[0], dims[1], dims[2]
	mu, logvar := t.runEncoder(x)              // [B, D]
	z := Reparameterize(mu, logvar, eps)       // [B, k, D]
	output := t.runDecoder(Reshape(z, b*k, d)) // [B·k, H, W, C]
	xs := BroadcastToDims(InsertAxes(x, 1), append([]int{b, k}, x.Shape().Dimensions[1:]...)...)
	xs = Reshape(xs, output.Shape().Dimensions...)                                                   // [B·k, H, W, C]
	nll := Reshape(ReconstructionNLL(t.cfg.Likelihood, output, xs, t.cfg.ObservationVariance), b, k) // [B, k]
	return ImportanceLogWeights(nll, z, eps, logvar)                                                 // [B, k]
}

// ErrDiverged is wrapped by the error Train and Step return when a loss is NaN or infinite.
var ErrDiverged = errors.New("VAE training diverged")

// Step runs one update on the next batch and returns its metrics. It returns an error wrapping
// ErrDiverged when a loss is NaN or infinite; the trained state is kept either way.
func (t *Trainer) Step() (StepMetrics, error) {
	epoch := t.state.Order.Epoch() + 1
	t.images.Gather(t.state.Order.Next()[0], t.batch)
	fillNormal(t.state.RNG, t.eps)
	h, w, c := t.images.Shape()
	capacity := 0.0
	if t.cfg.Gamma > 0 {
		capacity = Capacity(t.state.Step+1, t.cfg.CapacityMax, t.cfg.CapacitySteps)
	}
	inputs := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(t.batch, t.cfg.BatchSize, h, w, c),
		tensors.FromFlatDataAndDimensions(t.eps, t.cfg.BatchSize, t.cfg.LatentDim),
		tensors.FromScalar(float32(capacity))}
	var outputs []*tensors.Tensor
	var err error
	if t.parallel != nil {
		outputs, err = t.parallel.Call(t.trainStep, inputs...)
	} else {
		outputs, err = t.trainStep.Call(inputs[0], inputs[1], inputs[2])
	}
	if err != nil {
		return StepMetrics{}, fmt.Errorf("vae: step %d: %w", t.state.Step+1, err)
	}
	values := tensors.MustCopyFlatData[float32](outputs[0])
	t.state.Step++
	m := StepMetrics{Step: t.state.Step, Epoch: epoch, Loss: float64(values[0]),
		Reconstruction: float64(values[1]), KL: float64(values[2]), Capacity: capacity}
	t.history = append(t.history, m)
	return m, t.checkDivergence(m)
}

func (t *Trainer) checkDivergence(m StepMetrics) error {
	for _, term := range []struct {
		name  string
		value float64
	}{{"loss", m.Loss}, {"reconstruction term", m.Reconstruction}, {"KL term", m.KL}} {
		if math.IsNaN(term.value) || math.IsInf(term.value, 0) {
			return fmt.Errorf("%w at step %d: the %s is %v (reconstruction %v, KL %v). Resume from the last checkpoint with a "+
				"lower learning rate (now %g; advlab train vae -resume -lr X), which is finite (non-finite weights "+
				"are never saved), or check that the images are in [0, 1] and that the decoder outputs logits for "+
				"the Bernoulli likelihood (no sigmoid)", ErrDiverged, m.Step,
				term.name, term.value, m.Reconstruction, m.KL, t.cfg.LearningRate)
		}
	}
	return nil
}

// evalChunk is the number of images per evaluation batch.
const evalChunk = 200

// evalNoise returns a generator of the ε draws used in evaluations: the same on every call, so
// that evaluations are comparable across epochs and do not disturb training.
func (t *Trainer) evalNoise() *rand.Rand { return rand.New(rand.NewPCG(t.cfg.Seed, 0xe7a1)) }

// gather fills dst with images [from, from+n) of images, repeating the last image to fill a
// chunk of len(dst)/size images (the padding is evaluated and ignored).
func gather(images Images, from, n int, dst []float32) {
	h, w, c := images.Shape()
	count := len(dst) / (h * w * c)
	indices := make([]int, count)
	for i := range indices {
		indices[i] = from + min(i, n-1)
	}
	images.Gather(indices, dst)
}

// Evaluate computes the negative ELBO, its two terms and the KL per dimension on images, in
// inference mode (batch norm with running statistics) and with one draw of z per image from a
// fixed seed: pytorch/examples' test loss.
func (t *Trainer) Evaluate(images Images) (EvalMetrics, error) {
	if err := t.checkImages(images); err != nil {
		return EvalMetrics{}, err
	}
	d := t.cfg.LatentDim
	h, w, c := images.Shape()
	x := make([]float32, evalChunk*h*w*c)
	eps := make([]float32, evalChunk*d)
	rng := t.evalNoise()
	m := EvalMetrics{Images: images.Len(), KLPerDim: make([]float64, d)}
	for from := 0; from < images.Len(); from += evalChunk {
		n := min(evalChunk, images.Len()-from)
		gather(images, from, n, x)
		fillNormal(rng, eps)
		outputs, err := t.evaluate.Call(tensors.FromFlatDataAndDimensions(x, evalChunk, h, w, c),
			tensors.FromFlatDataAndDimensions(eps, evalChunk, d))
		if err != nil {
			return EvalMetrics{}, fmt.Errorf("vae: evaluation: %w", err)
		}
		reconstruction := tensors.MustCopyFlatData[float32](outputs[0])
		kl := tensors.MustCopyFlatData[float32](outputs[1])
		perDim := tensors.MustCopyFlatData[float32](outputs[2])
		for i := 0; i < n; i++ {
			m.Reconstruction += float64(reconstruction[i])
			m.KL += float64(kl[i])
			for j := 0; j < d; j++ {
				m.KLPerDim[j] += float64(perDim[i*d+j])
			}
		}
	}
	total := float64(images.Len())
	m.Reconstruction /= total
	m.KL /= total
	for j := range m.KLPerDim {
		m.KLPerDim[j] /= total
	}
	m.NegELBO = m.Reconstruction + m.KL
	return m, nil
}

func (t *Trainer) checkImages(images Images) error {
	if images == nil || images.Len() == 0 {
		return errors.New("vae: no images to evaluate")
	}
	h, w, c := images.Shape()
	if th, tw, tc := t.images.Shape(); h != th || w != tw || c != tc {
		return fmt.Errorf("vae: images of %dx%dx%d, the model works on %dx%dx%d", h, w, c, th, tw, tc)
	}
	return nil
}

// IWAEMetrics is an importance-weighted estimate of the test log-likelihood.
type IWAEMetrics struct {
	// Images is the number of images evaluated.
	Images int `json:"images"`
	// Samples is k, the number of posterior draws per image.
	Samples int `json:"samples"`
	// NLL is −L_k averaged over the images, in nats: an upper bound on −log p(x) that tightens as k
	// grows (see IWAEBound).
	NLL float64 `json:"nll"`
	// NegELBO is −(mean of the k log weights), the Monte-Carlo negative ELBO from the same draws;
	// NLL ≤ NegELBO always (Jensen's inequality, draw by draw).
	NegELBO float64 `json:"neg_elbo"`
}

// IWAE estimates −log p(x) on the first limit images (all when limit ≤ 0) with k importance
// samples per image (Burda et al. 2016; k = 5000 in the paper's evaluations), in inference mode
// and with draws from a fixed seed.
func (t *Trainer) IWAE(images Images, k, limit int) (IWAEMetrics, error) {
	if err := t.checkImages(images); err != nil {
		return IWAEMetrics{}, err
	}
	if k <= 0 {
		return IWAEMetrics{}, fmt.Errorf("vae: IWAE with k = %d samples, want >= 1", k)
	}
	n := images.Len()
	if limit > 0 && limit < n {
		n = limit
	}
	chunk := max(1, min(n, 2048/k)) // About 2048 decodings per execution.
	d := t.cfg.LatentDim
	h, w, c := images.Shape()
	x := make([]float32, chunk*h*w*c)
	eps := make([]float32, chunk*k*d)
	rng := rand.New(rand.NewPCG(t.cfg.Seed, 0x1a3e))
	m := IWAEMetrics{Images: n, Samples: k}
	for from := 0; from < n; from += chunk {
		count := min(chunk, n-from)
		gather(images, from, count, x)
		fillNormal(rng, eps)
		logWeights, err := t.importance.Call(tensors.FromFlatDataAndDimensions(x, chunk, h, w, c),
			tensors.FromFlatDataAndDimensions(eps, chunk, k, d))
		if err != nil {
			return IWAEMetrics{}, fmt.Errorf("vae: IWAE: %w", err)
		}
		values := tensors.MustCopyFlatData[float32](logWeights[0])
		for i := 0; i < count; i++ {
			row := values[i*k : (i+1)*k]
			peak, mean := math.Inf(-1), 0.0
			for _, v := range row {
				peak = math.Max(peak, float64(v))
				mean += float64(v)
			}
			sum := 0.0
			for _, v := range row {
				sum += math.Exp(float64(v) - peak)
			}
			m.NLL -= peak + math.Log(sum/float64(k))
			m.NegELBO -= mean / float64(k)
		}
	}
	m.NLL /= float64(n)
	m.NegELBO /= float64(n)
	return m, nil
}

// Encode returns the posterior parameters μ and log σ² ([n, LatentDim] flat each) of images x
// ([n, h, w, c] flat, values in [0, 1]), in inference mode.
func (t *Trainer) Encode(x []float32) (mu, logvar []float32, err error) {
	size := t.imageSize()
	if len(x) == 0 || len(x)%size != 0 {
		return nil, nil, fmt.Errorf("vae: Encode got %d values, want a multiple of the image size %d", len(x), size)
	}
	h, w, c := t.images.Shape()
	outputs, err := t.encode.Call(tensors.FromFlatDataAndDimensions(x, len(x)/size, h, w, c))
	if err != nil {
		return nil, nil, fmt.Errorf("vae: encoding: %w", err)
	}
	return tensors.MustCopyFlatData[float32](outputs[0]), tensors.MustCopyFlatData[float32](outputs[1]), nil
}

// Decode returns the mean images E[x|z] of latent vectors z ([n, LatentDim] flat), in inference
// mode.
func (t *Trainer) Decode(z []float32) (ImageBatch, error) {
	d := t.cfg.LatentDim
	if len(z) == 0 || len(z)%d != 0 {
		return ImageBatch{}, fmt.Errorf("vae: Decode got %d latent values, want a multiple of LatentDim=%d", len(z), d)
	}
	outputs, err := t.decode.Call(tensors.FromFlatDataAndDimensions(z, len(z)/d, d))
	if err != nil {
		return ImageBatch{}, fmt.Errorf("vae: decoding: %w", err)
	}
	h, w, c := t.images.Shape()
	return ImageBatch{Values: tensors.MustCopyFlatData[float32](outputs[0]), N: len(z) / d, Height: h, Width: w, Channels: c}, nil
}

// Reconstruct encodes images x ([n, h, w, c] flat) and decodes their posterior means μ: the
// result holds the n originals followed by their n reconstructions, laid out n per row
// (pytorch/examples' reconstruction image).
func (t *Trainer) Reconstruct(x []float32) (ImageBatch, error) {
	mu, _, err := t.Encode(x)
	if err != nil {
		return ImageBatch{}, err
	}
	decoded, err := t.Decode(mu)
	if err != nil {
		return ImageBatch{}, err
	}
	decoded.Values = append(append(make([]float32, 0, 2*len(x)), x...), decoded.Values...)
	decoded.PerRow = decoded.N
	decoded.N *= 2
	return decoded, nil
}

// SampleRandom decodes n draws z ~ N(0, I) from a generator seeded by seed (it does not disturb the
// training RNG).
func (t *Trainer) SampleRandom(n int, seed uint64) (ImageBatch, error) {
	z := make([]float32, n*t.cfg.LatentDim)
	fillNormal(rand.New(rand.NewPCG(seed, 0x5a3b1e)), z)
	return t.Decode(z)
}

// Traverse decodes latent traversals of one image (Higgins et al. 2017, figure 1): the image is
// encoded to μ, and for each latent dimension in dims (all when nil) that coordinate alone is set
// to steps values evenly spaced in [−limit, limit] (β-VAE papers use limit 3). The result has one
// row per dimension and steps images per row.
func (t *Trainer) Traverse(image []float32, dims []int, steps int, limit float64) (ImageBatch, error) {
	if len(image) != t.imageSize() {
		return ImageBatch{}, fmt.Errorf("vae: Traverse takes one image of %d values, got %d", t.imageSize(), len(image))
	}
	if steps < 2 {
		return ImageBatch{}, fmt.Errorf("vae: Traverse with %d steps, want >= 2", steps)
	}
	d := t.cfg.LatentDim
	if dims == nil {
		for j := 0; j < d; j++ {
			dims = append(dims, j)
		}
	}
	mu, _, err := t.Encode(image)
	if err != nil {
		return ImageBatch{}, err
	}
	z := make([]float32, 0, len(dims)*steps*d)
	for _, j := range dims {
		if j < 0 || j >= d {
			return ImageBatch{}, fmt.Errorf("vae: Traverse dimension %d out of [0, %d)", j, d)
		}
		for s := 0; s < steps; s++ {
			code := append([]float32(nil), mu...)
			code[j] = float32(-limit + 2*limit*float64(s)/float64(steps-1))
			z = append(z, code...)
		}
	}
	batch, err := t.Decode(z)
	batch.PerRow = steps
	return batch, err
}

// Manifold decodes an n x n grid of latent points of a model with LatentDim 2 (Kingma & Welling
// 2014, figure 4): the coordinates are the standard normal quantiles Φ⁻¹(p) of n probabilities p
// evenly spaced in [0.05, 0.95], z₁ growing left to right and z₂ bottom to top.
func (t *Trainer) Manifold(n int) (ImageBatch, error) {
	if t.cfg.LatentDim != 2 {
		return ImageBatch{}, fmt.Errorf("vae: Manifold needs LatentDim 2, the model has %d", t.cfg.LatentDim)
	}
	if n < 2 {
		return ImageBatch{}, fmt.Errorf("vae: Manifold with n = %d, want >= 2", n)
	}
	quantile := func(i int) float32 {
		p := 0.05 + 0.9*float64(i)/float64(n-1)
		return float32(math.Sqrt2 * math.Erfinv(2*p-1))
	}
	z := make([]float32, 0, 2*n*n)
	for row := 0; row < n; row++ {
		for col := 0; col < n; col++ {
			z = append(z, quantile(col), quantile(n-1-row))
		}
	}
	batch, err := t.Decode(z)
	batch.PerRow = n
	return batch, err
}

// checkpointMeta is what a checkpoint stores besides the variables.
type checkpointMeta struct {
	trainloop.Checkpoint[Config]
	History []StepMetrics  `json:"history"`
	Epochs  []EpochMetrics `json:"epochs"`
}

// Save writes a checkpoint (weights, optimizer state, batch-norm statistics, step, RNG and
// batch-order state, history) to path atomically.
func (t *Trainer) Save(path string) error {
	return t.state.Save(path, t.store, &checkpointMeta{History: t.history, Epochs: t.epochs})
}

// Load restores a checkpoint written by Save with the same configuration; training then continues
// exactly as if it had not stopped (bit for bit on the same backend).
func (t *Trainer) Load(path string) error {
	var meta checkpointMeta
	if err := t.state.Load(path, t.store, &meta); err != nil {
		return err
	}
	t.history, t.epochs = meta.History, meta.Epochs
	// The checkpoint restores the optimizer's learning-rate variable: give it this run's rate.
	if err := trainloop.SetLearningRate(t.store.RootScope(), t.cfg.LearningRate); err != nil {
		return fmt.Errorf("vae: setting the learning rate: %w", err)
	}
	return nil
}

// ConfigChanges lists the learning-rate changes made when the run was resumed, oldest first
// (Config.LearningRate may change on resume; everything else must match the checkpoint).
func (t *Trainer) ConfigChanges() []trainloop.ConfigChange[Config] { return t.state.Changes }

// Snapshot is what a training run reports: reconstructions of fixed images, decodings of fixed
// noise and the metrics so far. Whoever watches renders it (a notebook dashboard, the CLI's files).
type Snapshot struct {
	// Step is the number of updates done; Epoch the number of completed epochs.
	Step, Epoch int
	// Reconstructions holds Snapshot.Reconstructions originals (the first test images, or the
	// first training images without a test set) followed by their reconstructions, one row each.
	Reconstructions ImageBatch
	// Samples are the decodings of the fixed noise (FixedNoise).
	Samples ImageBatch
	// History holds every step's metrics so far; Epochs every completed epoch's.
	History []StepMetrics
	Epochs  []EpochMetrics
	// Elapsed is the wall time of this Train call so far.
	Elapsed time.Duration
}

// TrainOptions controls a Train call.
type TrainOptions struct {
	// Steps is the number of updates to run in this call; Epochs, when > 0, runs until that many
	// epochs are complete in all (counting those of a resumed checkpoint) instead.
	Steps, Epochs int
	// Test, when set, is evaluated at the end of every epoch (EpochMetrics.Test) and supplies the
	// snapshot's reconstructions.
	Test Images
	// OnEpoch receives every completed epoch's metrics.
	OnEpoch func(EpochMetrics)
	// SnapshotEvery emits a Snapshot every this many steps and at the end; 0 disables step
	// snapshots.
	SnapshotEvery int
	// SnapshotEachEpoch emits a Snapshot at the end of every epoch (after its evaluation).
	SnapshotEachEpoch bool
	// OnSnapshot receives the snapshots.
	OnSnapshot func(Snapshot)
	// OnStep receives every step's metrics (e.g. for a progress bar).
	OnStep func(StepMetrics)
	// CheckpointPath, when set, receives a checkpoint every CheckpointEvery steps, when the
	// context is cancelled (an interrupt) and at the end.
	CheckpointPath string
	// CheckpointEvery is the checkpoint interval in steps (0: only on interrupt and at the end).
	CheckpointEvery int
}

// TakeSnapshot builds a Snapshot of the current model; reconstructions come from test (the
// training images when nil).
func (t *Trainer) TakeSnapshot(test Images) (Snapshot, error) {
	source := test
	if source == nil {
		source = t.images
	}
	snap := Snapshot{Step: t.state.Step, Epoch: t.state.Order.Epoch(), History: t.history, Epochs: t.epochs}
	if n := min(t.cfg.Snapshot.Reconstructions, source.Len()); n > 0 {
		x := make([]float32, n*t.imageSize())
		gather(source, 0, n, x)
		var err error
		if snap.Reconstructions, err = t.Reconstruct(x); err != nil {
			return Snapshot{}, err
		}
	}
	if len(t.fixedNoise) > 0 {
		var err error
		if snap.Samples, err = t.Decode(t.fixedNoise); err != nil {
			return Snapshot{}, err
		}
	}
	return snap, nil
}

// Train runs opts.Steps updates (or until opts.Epochs epochs are complete). Cancelling ctx (a
// notebook interrupt, Ctrl-C) stops it between steps; the state is kept in the trainer and, with
// CheckpointPath set, saved. It returns ctx's error when interrupted and an ErrDiverged error when a
// loss became NaN or infinite.
func (t *Trainer) Train(ctx context.Context, opts TrainOptions) error {
	if opts.Test != nil {
		if err := t.checkImages(opts.Test); err != nil {
			return err
		}
	}
	start := time.Now()
	loop := trainloop.Loop[StepMetrics]{Steps: opts.Steps, Epochs: opts.Epochs, Step: t.Step, OnStep: opts.OnStep,
		EndEpoch:      func(seconds float64) error { return t.endEpoch(opts, seconds) },
		SnapshotEvery: opts.SnapshotEvery, SnapshotEachEpoch: opts.SnapshotEachEpoch, CheckpointEvery: opts.CheckpointEvery}
	if opts.OnSnapshot != nil {
		loop.Snapshot = func() error {
			snap, err := t.TakeSnapshot(opts.Test)
			if err != nil {
				return err
			}
			snap.Elapsed = time.Since(start)
			opts.OnSnapshot(snap)
			return nil
		}
	}
	if opts.CheckpointPath != "" {
		loop.Save = func() error { return t.Save(opts.CheckpointPath) }
	}
	return trainloop.Run(ctx, t.state, loop)
}

// endEpoch records the metrics of the epoch just completed.
func (t *Trainer) endEpoch(opts TrainOptions, seconds float64) error {
	epoch := t.state.Order.Epoch()
	m := EpochMetrics{Epoch: epoch, Step: t.state.Step, Seconds: seconds}
	count := 0
	for i := len(t.history) - 1; i >= 0 && t.history[i].Epoch == epoch; i-- {
		m.TrainLoss += t.history[i].Loss
		m.TrainNegELBO += t.history[i].NegELBO()
		count++
	}
	if count > 0 {
		m.TrainLoss /= float64(count)
		m.TrainNegELBO /= float64(count)
	}
	if opts.Test != nil {
		test, err := t.Evaluate(opts.Test)
		if err != nil {
			return err
		}
		m.Test = &test
	}
	t.epochs = append(t.epochs, m)
	if opts.OnEpoch != nil {
		opts.OnEpoch(m)
	}
	return nil
}
