package gan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best with the ops unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/nn"
	"github.com/advlab/advlab/lib/parallel"
	"github.com/advlab/advlab/lib/trainloop"
)

// Scope paths of the two networks' variables.
const (
	GeneratorScope     = "/generator"
	DiscriminatorScope = "/discriminator"
)

// Images is the real data a GAN learns from: n images of one shape, gathered into float32 NHWC
// batches with values in [-1, 1]. A lib/data Set serves as data.Images{Set: set, Range:
// data.RangeMinusOneOne} (each pixel p becomes p/127.5 − 1: torchvision's ToTensor +
// Normalize(0.5, 0.5)); float images already in [-1, 1] as FloatImages.
type Images interface {
	// Len is the number of images.
	Len() int
	// Shape is the height, width and channels of one image.
	Shape() (height, width, channels int)
	// Gather writes the images at indices, scaled to [-1, 1], into dst (len(indices)·h·w·c floats).
	Gather(indices []int, dst []float32)
}

// FloatImages is lib/data's in-memory set of float32 NHWC images, here with values in [-1, 1].
type FloatImages = data.Floats

// StepMetrics are the scalars of one training step (pytorch/examples' dcgan log line).
type StepMetrics struct {
	// Step counts generator updates, starting at 1.
	Step int `json:"step"`
	// DLoss is −log D(x) − log(1 − D(G(z))) of the last discriminator update.
	DLoss float64 `json:"d_loss"`
	// GLoss is the generator's loss (adversarial or feature matching).
	GLoss float64 `json:"g_loss"`
	// DReal is the mean D(x) on the real batch, before D's update.
	DReal float64 `json:"d_x"`
	// DFakeBefore is the mean D(G(z)) before D's update.
	DFakeBefore float64 `json:"d_g_z1"`
	// DFakeAfter is the mean D(G(z)) scored by the updated D, which G then trains against.
	DFakeAfter float64 `json:"d_g_z2"`
}

// Trainer trains one generator against one discriminator. Create it with New; it is not safe for
// concurrent use.
type Trainer struct {
	cfg     Config
	backend compute.Backend
	store   *model.Store
	gen     Generator
	disc    Discriminator
	images  Images

	fullStep, discStep, sample *model.Exec
	sampleStep                 int                    // the step count when the sample graph was created
	parallel                   *parallel.DataParallel // the step graphs' devices (Config.Devices); nil: one device

	state    *trainloop.State[Config] // step count, batch order, z draws (state.RNG).
	history  []StepMetrics
	lowDLoss int          // consecutive steps with D loss below the divergence floor.
	warn     func(string) // TrainOptions.OnWarning of the running Train call; nil outside one

	fixedNoise []float32
	realBatch  []float32
	zBatch     []float32
}

// New prepares a trainer; nothing is compiled until the first step.
func New(backend compute.Backend, cfg Config, gen Generator, disc Discriminator, images Images) (*Trainer, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if images == nil || images.Len() < cfg.BatchSize {
		n := 0
		if images != nil {
			n = images.Len()
		}
		return nil, fmt.Errorf("gan: %d training images, want at least one batch of %d", n, cfg.BatchSize)
	}
	t := &Trainer{cfg: cfg, backend: backend, store: model.NewStore(), gen: gen, disc: disc, images: images}
	t.store.RootScope().SetParam(model.ParamInitialSeed, int64(cfg.Seed)+1) // 0 would mean "random".
	// Checkpoints hold the configuration without Devices: a run resumes on any number of devices.
	identity := cfg
	identity.Devices = 0
	t.state = trainloop.NewState("gan", identity, cfg.Seed, cfg.BatchSize, images.Len())
	t.state.Tunable = func(c Config) Config { c.D, c.G = Adam{}, Adam{}; return c } // resumable with other Adam settings
	fixed := rand.New(rand.NewPCG(cfg.Seed, 0xf1ed))
	t.fixedNoise = make([]float32, cfg.FixedNoise*cfg.LatentDim)
	t.drawLatent(fixed, t.fixedNoise)
	h, w, c := images.Shape()
	t.realBatch = make([]float32, cfg.BatchSize*h*w*c)
	t.zBatch = make([]float32, cfg.BatchSize*cfg.LatentDim)

	var err error
	if t.fullStep, err = model.NewExec(backend, t.store, func(scope *model.Scope, real, z *Node) []*Node {
		return t.buildStep(real, z, true)
	}); err != nil {
		return nil, err
	}
	if t.discStep, err = model.NewExec(backend, t.store, func(scope *model.Scope, real, z *Node) []*Node {
		return t.buildStep(real, z, false)
	}); err != nil {
		return nil, err
	}
	if cfg.Devices > 0 {
		if t.parallel, err = parallel.New(backend, cfg.Devices, "gan"); err != nil {
			return nil, err
		}
		t.fullStep = t.parallel.Configure(t.fullStep, parallel.Batch, parallel.Batch) // real, z
		t.discStep = t.parallel.Configure(t.discStep, parallel.Batch, parallel.Batch)
	}
	if err := t.newSampleExec(); err != nil {
		return nil, err
	}
	return t, nil
}

// newSampleExec (re)creates the inference graph of the generator. Backends that embed
// non-trainable variables of inference graphs as constants (ONNX Runtime) bake the batch-norm
// statistics in at compile time, so after further training the graph is rebuilt (see sampleOnce).
func (t *Trainer) newSampleExec() error {
	if t.sample != nil {
		t.sample.Finalize()
	}
	var err error
	t.sample, err = model.NewExec(t.backend, t.store, func(scope *model.Scope, z *Node) *Node {
		if !t.cfg.SampleWithRunningStatistics {
			nn.UseBatchStatistics(t.store.RootScope(), z.Graph())
		}
		return t.gen(t.store.Scope(GeneratorScope), z)
	})
	t.sampleStep = t.state.Step
	return err
}

// Config returns the configuration in use (defaults filled in).
func (t *Trainer) Config() Config { return t.cfg }

// Store returns the model store holding both networks' variables and optimizer state.
func (t *Trainer) Store() *model.Store { return t.store }

// StepCount is the number of generator updates done so far.
func (t *Trainer) StepCount() int { return t.state.Step }

// History returns the metrics of every step so far.
func (t *Trainer) History() []StepMetrics { return t.history }

// Shape is the height, width and channels of the images the trainer works on.
func (t *Trainer) Shape() (height, width, channels int) { return t.images.Shape() }

// FixedNoise returns the fixed latent vectors used for snapshots ([FixedNoise, LatentDim], flat).
func (t *Trainer) FixedNoise() []float32 { return t.fixedNoise }

func (t *Trainer) drawLatent(rng *rand.Rand, dst []float32) {
	for i := range dst {
		if t.cfg.Latent == Uniform {
			dst[i] = float32(rng.Float64())
		} else {
			dst[i] = float32(rng.NormFloat64())
		}
	}
}

// discriminate applies D with a fresh scope (D's variables are shared between applications) and
// returns logits flattened to [batch].
func (t *Trainer) discriminate(x *Node) (logits, features *Node) {
	logits, features = t.disc(t.store.Scope(DiscriminatorScope), x)
	return Reshape(logits, logits.Shape().Dimensions[0]), features
}

func adam(a Adam) optimizer.Interface {
	return optimizer.Adam().LearningRate(a.LearningRate).Betas(a.Beta1, a.Beta2).Epsilon(a.Epsilon).Done()
}

// buildStep builds one training step: a discriminator update and, when withGenerator, the
// generator update through the updated discriminator. It returns [dLoss, gLoss, D(x), D(G(z))
// before, D(G(z)) after] stacked into one vector (gLoss and "after" are 0 without the G update).
func (t *Trainer) buildStep(real, z *Node, withGenerator bool) []*Node {
	g := real.Graph()
	t.store.SetTraining(g, true)

	// (1) Update D network: maximize log(D(x)) + log(1 - D(G(z))).
	fake := t.gen(t.store.Scope(GeneratorScope), z)
	realLogits, _ := t.discriminate(real)
	fakeLogits, _ := t.discriminate(StopGradient(fake))
	dLoss := DiscriminatorLoss(realLogits, fakeLogits, t.cfg.RealTarget)
	dObjective := Add(dLoss, t.historicalAverage(g, DiscriminatorScope))
	adam(t.cfg.D).UpdateGraph(t.store.Scope(DiscriminatorScope), g, dObjective)
	dReal := ReduceAllMean(Sigmoid(realLogits))
	dFakeBefore := ReduceAllMean(Sigmoid(fakeLogits))
	zero := ZerosLike(dLoss)
	if !withGenerator {
		return []*Node{Stack([]*Node{dLoss, zero, dReal, dFakeBefore, zero}, 0)}
	}

	// D's variables now hold their updated values; G trains against them as constants (without
	// this, G's gradient would try to differentiate through D's optimizer update).
	for v := range t.store.Scope(DiscriminatorScope).IterVariables() {
		if v.InUseByGraph(g) {
			v.SetNodeValue(StopGradient(v.NodeValue(g)))
		}
	}

	// (2) Update G network: maximize log(D(G(z))) (or feature matching).
	fakeLogitsAfter, fakeFeatures := t.discriminate(fake)
	var gLoss *Node
	if t.cfg.FeatureMatching {
		_, realFeatures := t.discriminate(real)
		if fakeFeatures == nil || realFeatures == nil {
			exceptions.Panicf("gan: FeatureMatching needs a discriminator that returns features")
		}
		gLoss = FeatureMatching(realFeatures, fakeFeatures)
	} else {
		gLoss = GeneratorLoss(t.cfg.Loss, fakeLogitsAfter)
	}
	gObjective := Add(gLoss, t.historicalAverage(g, GeneratorScope))
	adam(t.cfg.G).UpdateGraph(t.store.Scope(GeneratorScope), g, gObjective)
	dFakeAfter := ReduceAllMean(Sigmoid(fakeLogitsAfter))
	return []*Node{Stack([]*Node{dLoss, gLoss, dReal, dFakeBefore, dFakeAfter}, 0)}
}

// historicalAverage returns λ·Σ‖θ − θ̄‖² over the trainable variables of the network at path,
// where θ̄ is the running mean of θ over all past steps (Salimans et al. 2016, §3.3), and updates
// the running means. It returns 0 when HistoricalAveraging is off.
func (t *Trainer) historicalAverage(g *Graph, path string) *Node {
	zero := Scalar(g, dtypes.Float32, 0)
	if t.cfg.HistoricalAveraging == 0 {
		return zero
	}
	scope := t.store.Scope(path)
	counter := t.store.Scope("/historical_average"+path).VariableWithValue("count", float32(0)).SetTrainable(false)
	count := AddScalar(counter.NodeValue(g), 1)
	counter.SetNodeValue(count)
	total := zero
	var trainable []*model.Variable
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			trainable = append(trainable, v)
		}
	}
	for _, v := range trainable {
		theta := v.NodeValue(g)
		meanVar := t.store.Scope("/historical_average"+v.Scope()).
			VariableWithValue(v.Name(), tensors.FromShape(v.Shape())).SetTrainable(false)
		// Running mean including the current value: θ̄_t = θ̄_{t−1} + (θ_t − θ̄_{t−1}) / t.
		mean := Add(meanVar.NodeValue(g), Div(Sub(StopGradient(theta), meanVar.NodeValue(g)), count))
		meanVar.SetNodeValue(mean)
		total = Add(total, ReduceAllSum(Square(Sub(theta, StopGradient(mean)))))
	}
	return MulScalar(total, t.cfg.HistoricalAveraging)
}

// nextBatch fills t.realBatch with the next batch of the epoch's permutation (reshuffled each
// epoch from the seed; a final partial batch is dropped, as PyTorch's drop_last).
func (t *Trainer) nextBatch() {
	t.images.Gather(t.state.Order.Next()[0], t.realBatch)
}

// ErrDiverged is wrapped by the error Train and Step return when training has diverged.
var ErrDiverged = errors.New("GAN training diverged")

// Step runs one generator update (preceded by DSteps−1 discriminator-only updates) on the next
// real batch(es) and fresh latent draws, and returns its metrics. It returns an error wrapping
// ErrDiverged when a loss is NaN or infinite, or when the discriminator loss has stayed below
// DivergenceFloor for DivergencePatience steps; the trained state is kept either way.
func (t *Trainer) Step() (StepMetrics, error) {
	for k := 1; k < t.cfg.DSteps; k++ {
		t.nextBatch()
		t.drawLatent(t.state.RNG, t.zBatch)
		if _, err := t.run(t.discStep, t.realBatch, t.zBatch); err != nil {
			return StepMetrics{}, err
		}
	}
	t.nextBatch()
	t.drawLatent(t.state.RNG, t.zBatch)
	return t.StepOn(t.realBatch, t.zBatch)
}

// StepOn runs one full step (a discriminator update, then a generator update) on the given real
// batch ([BatchSize, h, w, c] flat, in [-1, 1]) and latent batch ([BatchSize, LatentDim] flat),
// bypassing the trainer's own data order and noise. Parity tests use it to feed PyTorch's batches.
func (t *Trainer) StepOn(real, z []float32) (StepMetrics, error) {
	values, err := t.run(t.fullStep, real, z)
	if err != nil {
		return StepMetrics{}, err
	}
	t.state.Step++
	m := StepMetrics{Step: t.state.Step, DLoss: float64(values[0]), GLoss: float64(values[1]),
		DReal: float64(values[2]), DFakeBefore: float64(values[3]), DFakeAfter: float64(values[4])}
	t.history = append(t.history, m)
	return m, t.checkDivergence(m)
}

// run executes one step graph and returns its metrics vector.
func (t *Trainer) run(exec *model.Exec, real, z []float32) ([]float32, error) {
	h, w, c := t.images.Shape()
	if len(real) != t.cfg.BatchSize*h*w*c || len(z) != t.cfg.BatchSize*t.cfg.LatentDim {
		return nil, fmt.Errorf("gan: step got %d image values and %d latent values, want %d·%d·%d·%d and %d·%d",
			len(real), len(z), t.cfg.BatchSize, h, w, c, t.cfg.BatchSize, t.cfg.LatentDim)
	}
	realT := tensors.FromFlatDataAndDimensions(real, t.cfg.BatchSize, h, w, c)
	zT := tensors.FromFlatDataAndDimensions(z, t.cfg.BatchSize, t.cfg.LatentDim)
	var outputs []*tensors.Tensor
	var err error
	if t.parallel != nil {
		outputs, err = t.parallel.Call(exec, realT, zT)
	} else {
		outputs, err = exec.Call(realT, zT)
	}
	if err != nil {
		return nil, fmt.Errorf("gan: step %d: %w", t.state.Step+1, err)
	}
	return tensors.MustCopyFlatData[float32](outputs[0]), nil
}

// saturationWarning is the number of consecutive saturated steps (D loss below the divergence
// floor) after which Train warns, long before DivergencePatience stops it.
const saturationWarning = 10

func (t *Trainer) checkDivergence(m StepMetrics) error {
	for name, v := range map[string]float64{"discriminator loss": m.DLoss, "generator loss": m.GLoss} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w at step %d: %s is %v. Resume from the last checkpoint with lower learning rates "+
				"(now D %g, G %g; advlab train gan -resume -lr X), which is finite (non-finite weights are never "+
				"saved), or check the input scaling ([-1, 1] for a tanh generator)", ErrDiverged, m.Step, name, v,
				t.cfg.D.LearningRate, t.cfg.G.LearningRate)
		}
	}
	if t.cfg.DivergencePatience < 0 {
		return nil
	}
	if m.DLoss < t.cfg.DivergenceFloor {
		t.lowDLoss++
	} else {
		t.lowDLoss = 0
	}
	if t.lowDLoss == min(saturationWarning, t.cfg.DivergencePatience) && t.warn != nil {
		t.warn(fmt.Sprintf("step %d: the discriminator loss has stayed below %g for %d steps (D loss %.3g, D(x)=%.3f, "+
			"D(G(z))=%.3f): D is winning and G's gradient vanishes; training stops as diverged at step %d if it stays "+
			"there (learning rates D %g, G %g)", m.Step, t.cfg.DivergenceFloor, t.lowDLoss, m.DLoss, m.DReal, m.DFakeBefore,
			m.Step-t.lowDLoss+t.cfg.DivergencePatience, t.cfg.D.LearningRate, t.cfg.G.LearningRate))
	}
	if t.lowDLoss >= t.cfg.DivergencePatience {
		advice := "one-sided label smoothing (RealTarget 0.9), a lower D learning rate, Gaussian input noise for D, " +
			"or LeakyReLU activations and N(0, 0.02) weights (DCGAN's) in both networks"
		if t.cfg.Loss == Minimax {
			advice = "the non-saturating generator loss (its gradient does not vanish when D rejects the samples), " + advice
		}
		return fmt.Errorf("%w at step %d: the discriminator loss stayed below %g for %d steps (D(x)=%.3f, D(G(z))=%.3f): "+
			"D wins and G gets no useful gradient. Try %s", ErrDiverged, m.Step, t.cfg.DivergenceFloor,
			t.lowDLoss, m.DReal, m.DFakeBefore, advice)
	}
	return nil
}

// Sample generates images from latent vectors z ([n, LatentDim], flat) with the generator in
// inference mode: its batch norms use the statistics of each batch of up to
// trainloop.SampleChunk vectors (or the running statistics with
// Config.SampleWithRunningStatistics), and nothing is updated. It returns [n, h, w, c] flat.
func (t *Trainer) Sample(z []float32) ([]float32, error) {
	images, err := trainloop.InChunks(z, t.cfg.LatentDim, t.sampleOnce)
	if err != nil {
		return nil, fmt.Errorf("gan: Sample: %w", err)
	}
	return images, nil
}

func (t *Trainer) sampleOnce(z []float32, n int) ([]float32, error) {
	if t.sampleStep != t.state.Step && t.backend.Capabilities().PreferConstantsForVariables {
		if err := t.newSampleExec(); err != nil {
			return nil, err
		}
	}
	outputs, err := t.sample.Call(tensors.FromFlatDataAndDimensions(z, n, t.cfg.LatentDim))
	if err != nil {
		return nil, fmt.Errorf("gan: sampling: %w", err)
	}
	return tensors.MustCopyFlatData[float32](outputs[0]), nil
}

// SampleRandom generates n images from fresh latent draws of a generator seeded by seed (it does
// not disturb the training RNG).
func (t *Trainer) SampleRandom(n int, seed uint64) ([]float32, error) {
	z := make([]float32, n*t.cfg.LatentDim)
	t.drawLatent(rand.New(rand.NewPCG(seed, 0x5a3b1e)), z)
	return t.Sample(z)
}

// checkpointMeta is what a checkpoint stores besides the variables.
type checkpointMeta struct {
	trainloop.Checkpoint[Config]
	LowD    int           `json:"low_d_loss_steps"`
	History []StepMetrics `json:"history"`
}

// Save writes a checkpoint (weights, optimizer state, step, RNG and batch-order state, history)
// to path atomically.
func (t *Trainer) Save(path string) error {
	return t.state.Save(path, t.store, &checkpointMeta{LowD: t.lowDLoss, History: t.history})
}

// Load restores a checkpoint written by Save with the same configuration; training then continues
// exactly as if it had not stopped (bit for bit on the same backend).
func (t *Trainer) Load(path string) error {
	var meta checkpointMeta
	if err := t.state.Load(path, t.store, &meta); err != nil {
		return err
	}
	t.lowDLoss, t.history = meta.LowD, meta.History
	return t.setLearningRates()
}

// setLearningRates gives the optimizers' learning-rate variables, which a checkpoint restores, the
// rates of this trainer's configuration (they differ after a resume with other rates).
func (t *Trainer) setLearningRates() error {
	if err := trainloop.SetLearningRate(t.store.Scope(DiscriminatorScope), t.cfg.D.LearningRate); err != nil {
		return fmt.Errorf("gan: setting D's learning rate: %w", err)
	}
	if err := trainloop.SetLearningRate(t.store.Scope(GeneratorScope), t.cfg.G.LearningRate); err != nil {
		return fmt.Errorf("gan: setting G's learning rate: %w", err)
	}
	return nil
}

// ConfigChanges lists the optimiser settings changed when the run was resumed, oldest first
// (Config.D and Config.G may change on resume; everything else must match the checkpoint).
func (t *Trainer) ConfigChanges() []trainloop.ConfigChange[Config] { return t.state.Changes }

// Snapshot is what a training run reports every SnapshotEvery steps: the fixed-noise samples and
// the metrics so far. Whoever watches renders it (a notebook dashboard, the CLI's files).
type Snapshot struct {
	// Step is the number of generator updates done.
	Step int
	// Samples are the generator's images for the fixed noise, [FixedNoise, h, w, c] flat, in [-1, 1].
	Samples []float32
	// Height, Width, Channels give the samples' shape.
	Height, Width, Channels int
	// History holds every step's metrics so far.
	History []StepMetrics
	// Elapsed is the wall time of this Train call so far.
	Elapsed time.Duration
}

// TrainOptions controls a Train call.
type TrainOptions struct {
	// Steps is the number of generator updates to run in this call.
	Steps int
	// SnapshotEvery emits a Snapshot every this many steps (and at the end); 0 disables.
	SnapshotEvery int
	// OnSnapshot receives the snapshots.
	OnSnapshot func(Snapshot)
	// OnStep receives every step's metrics (e.g. for a progress bar).
	OnStep func(StepMetrics)
	// CheckpointPath, when set, receives a checkpoint every CheckpointEvery steps, when the
	// context is cancelled (an interrupt) and at the end.
	CheckpointPath string
	// CheckpointEvery is the checkpoint interval in steps (0: only on interrupt and at the end).
	CheckpointEvery int
	// OnWarning, when set, receives warnings as soon as they arise: a discriminator loss that has
	// stayed saturated for a few steps (before DivergencePatience stops the run).
	OnWarning func(string)
}

// Train runs opts.Steps generator updates. Cancelling ctx (a notebook interrupt, Ctrl-C) stops it
// between steps; the state is kept in the trainer and, with CheckpointPath set, saved. It returns
// ctx's error when interrupted and an ErrDiverged error when training diverged.
func (t *Trainer) Train(ctx context.Context, opts TrainOptions) error {
	start := time.Now()
	t.warn = opts.OnWarning
	defer func() { t.warn = nil }()
	loop := trainloop.Loop[StepMetrics]{Steps: opts.Steps, Step: t.Step, OnStep: opts.OnStep,
		SnapshotEvery: opts.SnapshotEvery, CheckpointEvery: opts.CheckpointEvery}
	if opts.OnSnapshot != nil {
		loop.Snapshot = func() error {
			samples, err := t.Sample(t.fixedNoise)
			if err != nil {
				return err
			}
			h, w, c := t.images.Shape()
			opts.OnSnapshot(Snapshot{Step: t.state.Step, Samples: samples, Height: h, Width: w, Channels: c,
				History: t.history, Elapsed: time.Since(start)})
			return nil
		}
	}
	if opts.CheckpointPath != "" {
		loop.Save = func() error { return t.Save(opts.CheckpointPath) }
	}
	return trainloop.Run(ctx, t.state, loop)
}
