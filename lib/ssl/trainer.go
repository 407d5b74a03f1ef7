package ssl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best with the ops unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/advlab/advlab/lib/nn"
	"github.com/advlab/advlab/lib/parallel"
	"github.com/advlab/advlab/lib/trainloop"
)

// StepMetrics are the scalars of one training step (the reference's per-epoch log line, per step).
type StepMetrics struct {
	// Step counts updates, starting at 1; Epoch is the epoch the step belongs to, starting at 1.
	Step  int `json:"step"`
	Epoch int `json:"epoch"`
	// LossLab is L_lab, the labelled batch's cross-entropy.
	LossLab float64 `json:"loss_lab"`
	// LossUnl is L_unl (0 for the supervised baseline).
	LossUnl float64 `json:"loss_unl"`
	// TrainError is the fraction of the labelled batch misclassified, before the update.
	TrainError float64 `json:"train_err"`
	// GLoss is the generator's feature-matching loss (0 for the supervised baseline).
	GLoss float64 `json:"g_loss"`
	// DReal is the mean D(x) = Z/(Z+1) on the unlabelled batch; DFake the mean D(G(z)), both
	// before the update (0 for the supervised baseline).
	DReal float64 `json:"d_x"`
	DFake float64 `json:"d_g_z"`
}

// EvalMetrics is a classifier's result on a labelled set.
type EvalMetrics struct {
	// Images is the number of images evaluated; Errors how many were misclassified.
	Images int `json:"images"`
	Errors int `json:"errors"`
	// ErrorRate is Errors/Images (the paper reports it in percent: 0.93% at 100 MNIST labels).
	ErrorRate float64 `json:"error_rate"`
	// Averaged is the same evaluation of the moving average of the classifier's weights
	// (Config.AverageRate; nil when disabled or before the first step), advlab's reported error.
	Averaged *EvalMetrics `json:"averaged,omitempty"`
	// ReferenceAveraged is the evaluation of the reference's own average (Config.ReferenceAverageRate:
	// from zeros, taken before each update; nil when disabled or before the first step): the number
	// openai/improved-gan prints.
	ReferenceAveraged *EvalMetrics `json:"reference_averaged,omitempty"`
}

// EpochMetrics are reported at the end of every epoch of Train.
type EpochMetrics struct {
	// Epoch counts completed epochs, starting at 1; Step is the number of updates done.
	Epoch int `json:"epoch"`
	Step  int `json:"step"`
	// LossLab, LossUnl, TrainError and GLoss are the means of the epoch's step metrics.
	LossLab    float64 `json:"loss_lab"`
	LossUnl    float64 `json:"loss_unl"`
	TrainError float64 `json:"train_err"`
	GLoss      float64 `json:"g_loss"`
	// Test is the evaluation on TrainOptions.Test (nil without a test set).
	Test *EvalMetrics `json:"test,omitempty"`
	// Seconds is the wall time of the epoch's steps in this process (evaluation and snapshots
	// excluded); EvalSeconds the time of the Test evaluation.
	Seconds     float64 `json:"seconds"`
	EvalSeconds float64 `json:"eval_seconds,omitempty"`
}

// Trainer trains a K-logit classifier semi-supervised against a generator (New), or supervised
// alone on the labelled images (NewSupervised). It is not safe for concurrent use.
type Trainer struct {
	cfg        Config
	backend    compute.Backend
	store      *model.Store
	classifier Classifier
	gen        Generator // nil for the supervised baseline
	labelled   Labelled
	unlabelled Images // nil for the supervised baseline

	trainStep, dataInit, evaluate, evaluateAverage, evaluateReference, sample *model.Exec
	parallel                                                                  *parallel.DataParallel // the train step's devices (Config.Devices); nil: one device

	state       *trainloop.State[Config] // step count, batch order, z draws (state.RNG).
	initialised bool                     // data-dependent initialisation done
	history     []StepMetrics
	epochs      []EpochMetrics

	fixedNoise                []float32
	xLab, xUnl, xUnl2, z1, z2 []float32
	yLab                      []int32
}

// New prepares a semi-supervised trainer: classifier and generator, the labelled images and the
// unlabelled ones (see SplitLabelled). Nothing is compiled until the first step.
func New(backend compute.Backend, cfg Config, classifier Classifier, gen Generator, labelled Labelled,
	unlabelled Images) (*Trainer, error) {
	if gen == nil {
		return nil, errors.New("ssl: New needs a generator (NewSupervised trains the classifier alone)")
	}
	if unlabelled == nil || unlabelled.Len() == 0 {
		return nil, errors.New("ssl: no unlabelled images")
	}
	return newTrainer(backend, cfg, classifier, gen, labelled, unlabelled)
}

// NewSupervised prepares the supervised baseline: the same classifier trained on the labelled
// images alone with L_lab (and the same optimizer, batch size and data-dependent initialisation).
// An epoch is one pass over the labelled images, tiled to at least one batch.
func NewSupervised(backend compute.Backend, cfg Config, classifier Classifier, labelled Labelled) (*Trainer, error) {
	return newTrainer(backend, cfg, classifier, nil, labelled, nil)
}

func newTrainer(backend compute.Backend, cfg Config, classifier Classifier, gen Generator, labelled Labelled,
	unlabelled Images) (*Trainer, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if classifier == nil {
		return nil, errors.New("ssl: no classifier")
	}
	if labelled == nil || labelled.Len() == 0 {
		return nil, errors.New("ssl: no labelled images")
	}
	h, w, c := labelled.Shape()
	if unlabelled != nil {
		if uh, uw, uc := unlabelled.Shape(); uh != h || uw != w || uc != c {
			return nil, fmt.Errorf("ssl: labelled images are %dx%dx%d, unlabelled %dx%dx%d", h, w, c, uh, uw, uc)
		}
		if unlabelled.Len() < cfg.BatchSize {
			return nil, fmt.Errorf("ssl: %d unlabelled images, want at least one batch of %d", unlabelled.Len(), cfg.BatchSize)
		}
	}
	for i := 0; i < labelled.Len(); i++ {
		if y := labelled.Label(i); y < 0 || y >= cfg.NumClasses {
			return nil, fmt.Errorf("ssl: labelled image %d has class %d, want [0, %d)", i, y, cfg.NumClasses)
		}
	}
	t := &Trainer{cfg: cfg, backend: backend, store: model.NewStore(), classifier: classifier, gen: gen,
		labelled: labelled, unlabelled: unlabelled}
	t.store.RootScope().SetParam(model.ParamInitialSeed, int64(cfg.Seed)+1) // 0 would mean "random".
	// The batch order: every step takes a batch of x_unl, one of x_unl2 (the unlabelled set
	// shuffled twice) and one of the labelled set, tiled to cover the epoch (the reference's
	// construction); the baseline's epoch is one pass over the labelled set.
	// Checkpoints hold the configuration without Devices: a run resumes on any number of devices.
	identity := cfg
	identity.Devices = 0
	if unlabelled != nil {
		t.state = trainloop.NewState("ssl", identity, cfg.Seed, cfg.BatchSize, unlabelled.Len(), unlabelled.Len(), labelled.Len())
	} else {
		t.state = trainloop.NewState("ssl-supervised", identity, cfg.Seed, cfg.BatchSize, labelled.Len())
	}
	t.state.Tunable = func(c Config) Config { // resumable with other Adam settings
		c.LearningRate, c.Beta1, c.Beta2, c.Epsilon = 0, 0, 0, 0
		return c
	}
	b, size := cfg.BatchSize, h*w*c
	t.xLab, t.yLab = make([]float32, b*size), make([]int32, b)
	var err error
	if gen == nil {
		t.trainStep, err = model.NewExec(backend, t.store, t.buildSupervisedStep)
	} else {
		t.xUnl, t.xUnl2 = make([]float32, b*size), make([]float32, b*size)
		t.z1, t.z2 = make([]float32, b*cfg.LatentDim), make([]float32, b*cfg.LatentDim)
		t.fixedNoise = make([]float32, cfg.FixedNoise*cfg.LatentDim)
		t.drawLatent(rand.New(rand.NewPCG(cfg.Seed, 0xf1ed)), t.fixedNoise)
		t.trainStep, err = model.NewExec(backend, t.store, t.buildStep)
		if err == nil {
			t.sample, err = model.NewExec(backend, t.store, func(scope *model.Scope, z *Node) *Node {
				return t.gen(t.store.Scope(GeneratorScope), z)
			})
		}
	}
	if err != nil {
		return nil, err
	}
	if cfg.Devices > 0 {
		if t.parallel, err = parallel.New(backend, cfg.Devices, "ssl"); err != nil {
			return nil, err
		}
		// Every input is a batch: x_lab, y_lab (and x_unl, x_unl2, z1, z2).
		layout := []parallel.Input{parallel.Batch, parallel.Batch}
		if gen != nil {
			layout = append(layout, parallel.Batch, parallel.Batch, parallel.Batch, parallel.Batch)
		}
		t.trainStep = t.parallel.Configure(t.trainStep, layout...)
	}
	if t.dataInit, err = model.NewExec(backend, t.store, func(scope *model.Scope, x *Node) *Node {
		g := x.Graph()
		t.store.SetTraining(g, true)
		nn.SetDataInit(t.store.RootScope(), g)
		logits, _ := t.classify(x)
		return ReduceAllMean(logits)
	}); err != nil {
		return nil, err
	}
	errorsOf := func(networkScope string) func(scope *model.Scope, x, labels *Node) *Node {
		return func(scope *model.Scope, x, labels *Node) *Node {
			logits, _ := t.classifier(t.store.Scope(networkScope), x)
			return ConvertDType(NotEqual(ArgMax(logits, -1, labels.DType()), labels), labels.DType())
		}
	}
	if t.evaluate, err = model.NewExec(backend, t.store, errorsOf(ClassifierScope)); err != nil {
		return nil, err
	}
	if t.evaluateAverage, err = model.NewExec(backend, t.store, errorsOf(AverageScope)); err != nil {
		return nil, err
	}
	if t.evaluateReference, err = model.NewExec(backend, t.store, errorsOf(ReferenceAverageScope)); err != nil {
		return nil, err
	}
	return t, nil
}

// Config returns the configuration in use (defaults filled in).
func (t *Trainer) Config() Config { return t.cfg }

// Store returns the model store holding the networks' variables and optimizer state.
func (t *Trainer) Store() *model.Store { return t.store }

// Supervised reports whether this is the supervised baseline (no generator, no unlabelled data).
func (t *Trainer) Supervised() bool { return t.gen == nil }

// StepCount is the number of updates done so far.
func (t *Trainer) StepCount() int { return t.state.Step }

// EpochCount is the number of completed epochs.
func (t *Trainer) EpochCount() int { return t.state.Order.Epoch() }

// History returns the metrics of every step so far.
func (t *Trainer) History() []StepMetrics { return t.history }

// Epochs returns the metrics of every completed epoch of Train so far.
func (t *Trainer) Epochs() []EpochMetrics { return t.epochs }

// ImageShape returns the height, width and channels of the images the trainer works on.
func (t *Trainer) ImageShape() (height, width, channels int) { return t.labelled.Shape() }

// FixedNoise returns the fixed latent vectors of the snapshots ([FixedNoise, LatentDim] flat;
// empty for the supervised baseline).
func (t *Trainer) FixedNoise() []float32 { return t.fixedNoise }

// StepsPerEpoch is the number of updates in one epoch: one pass over the unlabelled images (a
// final partial batch is dropped), or for the baseline over the labelled ones (at least one).
func (t *Trainer) StepsPerEpoch() int { return t.state.Order.BatchesPerEpoch() }

func (t *Trainer) drawLatent(rng *rand.Rand, dst []float32) {
	for i := range dst {
		if t.cfg.NormalLatent {
			dst[i] = float32(rng.NormFloat64())
		} else {
			dst[i] = float32(rng.Float64())
		}
	}
}

// classify applies the classifier with a fresh scope (its variables are shared between
// applications) and checks the logits' shape.
func (t *Trainer) classify(x *Node) (logits, features *Node) {
	logits, features = t.classifier(t.store.Scope(ClassifierScope), x)
	if dims := logits.Shape().Dimensions; len(dims) != 2 || dims[1] != t.cfg.NumClasses {
		exceptions.Panicf("ssl: the classifier returned logits %s, want [batch %d] (Config.NumClasses)",
			logits.Shape(), t.cfg.NumClasses)
	}
	return logits, features
}

func (t *Trainer) adam() optimizer.Interface {
	if t.cfg.ReferenceAdam {
		return nn.ReferenceAdam(t.cfg.LearningRate, t.cfg.Beta1, t.cfg.Beta2, t.cfg.Epsilon)
	}
	return optimizer.Adam().LearningRate(t.cfg.LearningRate).Betas(t.cfg.Beta1, t.cfg.Beta2).Epsilon(t.cfg.Epsilon).Done()
}

// buildStep builds one semi-supervised step: the classifier's update on L_lab + w·L_unl, then the
// generator's feature-matching update against the updated classifier. It returns [L_lab, L_unl,
// train error, G loss, D(x_unl), D(G(z))].
func (t *Trainer) buildStep(scope *model.Scope, xLab, yLab, xUnl, xUnl2, z1, z2 *Node) *Node {
	g := xLab.Graph()
	t.store.SetTraining(g, true)

	// (1) Update D: minimise L_lab + w·L_unl (the generated batch detached: no gradient into G).
	fake := StopGradient(t.gen(t.store.Scope(GeneratorScope), z1))
	var labLogits, unlLogits, fakeLogits *Node
	if t.cfg.SeparateBatches {
		labLogits, _ = t.classify(xLab)
		unlLogits, _ = t.classify(xUnl)
		fakeLogits, _ = t.classify(fake)
	} else {
		logits, _ := t.classify(Concatenate([]*Node{xLab, xUnl, fake}, 0))
		parts := splitBatch(logits, xLab, xUnl, fake)
		labLogits, unlLogits, fakeLogits = parts[0], parts[1], parts[2]
	}
	lossLab := SupervisedLoss(labLogits, yLab)
	lossUnl := UnsupervisedLoss(unlLogits, fakeLogits)
	network := t.networkVariables(g)
	t.updateReferenceAverage(g, network)
	t.adam().UpdateGraph(t.store.Scope(ClassifierScope), g, Add(lossLab, MulScalar(lossUnl, t.cfg.UnlabeledWeight)))
	t.updateAverage(g, network)
	trainErr := DivScalar(ConvertDType(Errors(labLogits, yLab), lossLab.DType()), float64(t.cfg.BatchSize))
	dReal := ReduceAllMean(RealProbability(unlLogits))
	dFake := ReduceAllMean(RealProbability(fakeLogits))

	// The classifier's variables now hold their updated values; G trains against them as constants.
	for v := range t.store.Scope(ClassifierScope).IterVariables() {
		if v.InUseByGraph(g) {
			v.SetNodeValue(StopGradient(v.NodeValue(g)))
		}
	}

	// (2) Update G: feature matching against a second, independently shuffled unlabelled batch.
	fake2 := t.gen(t.store.Scope(GeneratorScope), z2)
	var fakeFeatures, realFeatures *Node
	if t.cfg.SeparateBatches {
		_, fakeFeatures = t.classify(fake2)
		_, realFeatures = t.classify(xUnl2)
	} else if _, features := t.classify(Concatenate([]*Node{fake2, xUnl2}, 0)); features != nil {
		parts := splitBatch(features, fake2, xUnl2)
		fakeFeatures, realFeatures = parts[0], parts[1]
	}
	if fakeFeatures == nil || realFeatures == nil {
		exceptions.Panicf("ssl: feature matching needs a classifier that returns features")
	}
	gLoss := FeatureMatchingLoss(t.cfg.FeatureDistance, realFeatures, fakeFeatures)
	t.adam().UpdateGraph(t.store.Scope(GeneratorScope), g, gLoss)
	return Stack([]*Node{lossLab, lossUnl, trainErr, gLoss, dReal, dFake}, 0)
}

// splitBatch cuts x, the classifier's output on the concatenation of batches, back into one part
// per batch (along axis 0, in order).
func splitBatch(x *Node, batches ...*Node) []*Node {
	parts := make([]*Node, len(batches))
	start := 0
	for i, b := range batches {
		n := b.Shape().Dimensions[0]
		parts[i] = Slice(x, AxisRange(start, start+n))
		start += n
	}
	return parts
}

// networkVariables lists the classifier's variables that g reads. Call it after applying the
// classifier and before its optimizer adds its own state to the scope.
func (t *Trainer) networkVariables(g *Graph) []*model.Variable {
	var network []*model.Variable
	for v := range t.store.Scope(ClassifierScope).IterVariables() {
		if v.InUseByGraph(g) {
			network = append(network, v)
		}
	}
	return network
}

// updateAverage adds to the step graph g the update of the moving average of the classifier's
// variables network (Config.AverageRate): θ̄ ← θ̄ + r·(θ − θ̄) with θ the values after this step's
// update, and θ̄ ← θ at the first step. The averages live under AverageScope with the classifier's
// variable names, so that the classifier applied to that scope computes the averaged network.
func (t *Trainer) updateAverage(g *Graph, network []*model.Variable) {
	if t.cfg.AverageRate < 0 {
		return
	}
	zeros := func(g *Graph, s shapes.Shape) *Node { return Zeros(g, s) }
	counter := t.store.Scope(averageCounterScope).WithInitializer(zeros).
		VariableWithShape("updates", shapes.Make(dtypes.Float32)).SetTrainable(false)
	count := counter.NodeValue(g)
	first := Equal(count, ScalarZero(g, dtypes.Float32))
	for _, v := range network {
		average := t.store.Scope(AverageScope+strings.TrimPrefix(v.Scope(), ClassifierScope)).WithInitializer(zeros).
			VariableWithShape(v.Name(), v.Shape()).SetTrainable(false)
		current, previous := StopGradient(v.NodeValue(g)), average.NodeValue(g)
		moved := Add(previous, MulScalar(Sub(current, previous), t.cfg.AverageRate))
		average.SetNodeValue(Where(first, current, moved))
	}
	counter.SetNodeValue(AddScalar(count, 1))
}

// updateReferenceAverage adds to g the reference's moving average of the classifier's variables
// (Config.ReferenceAverageRate): θ̃ ← θ̃ + r·(θ − θ̃) from zeros, with θ the values before this step's
// update, for the trainable variables; the others (a weight norm's fixed scale) are copied, as the
// reference averages its trainable parameters only. Call it before the optimizer's update. The
// averages live under ReferenceAverageScope.
func (t *Trainer) updateReferenceAverage(g *Graph, network []*model.Variable) {
	if t.cfg.ReferenceAverageRate <= 0 {
		return
	}
	zeros := func(g *Graph, s shapes.Shape) *Node { return Zeros(g, s) }
	for _, v := range network {
		average := t.store.Scope(ReferenceAverageScope+strings.TrimPrefix(v.Scope(), ClassifierScope)).
			WithInitializer(zeros).VariableWithShape(v.Name(), v.Shape()).SetTrainable(false)
		before, previous := StopGradient(v.NodeValue(g)), average.NodeValue(g)
		if !v.Trainable { // the reference averages its trainable parameters only (a fixed scale stays)
			average.SetNodeValue(before)
			continue
		}
		average.SetNodeValue(Add(previous, MulScalar(Sub(before, previous), t.cfg.ReferenceAverageRate)))
	}
}

// averageCounterScope holds the number of updates folded into the moving average.
const averageCounterScope = "/discriminator_average_state"

// buildSupervisedStep builds one step of the baseline: the classifier's update on L_lab alone.
func (t *Trainer) buildSupervisedStep(scope *model.Scope, xLab, yLab *Node) *Node {
	g := xLab.Graph()
	t.store.SetTraining(g, true)
	logits, _ := t.classify(xLab)
	lossLab := SupervisedLoss(logits, yLab)
	network := t.networkVariables(g)
	t.updateReferenceAverage(g, network)
	t.adam().UpdateGraph(t.store.Scope(ClassifierScope), g, lossLab)
	t.updateAverage(g, network)
	trainErr := DivScalar(ConvertDType(Errors(logits, yLab), lossLab.DType()), float64(t.cfg.BatchSize))
	zero := ZerosLike(lossLab)
	return Stack([]*Node{lossLab, zero, trainErr, zero, zero, zero}, 0)
}

// initialise runs the data-dependent initialisation (Config.DataInit) once, before the first step.
func (t *Trainer) initialise() error {
	t.initialised = true
	if t.cfg.DataInit < 0 {
		return nil
	}
	source := Images(t.labelled)
	if t.unlabelled != nil {
		source = t.unlabelled
	}
	n := min(t.cfg.DataInit, source.Len())
	indices := rand.New(rand.NewPCG(t.cfg.Seed, 0x1417)).Perm(source.Len())[:n]
	h, w, c := source.Shape()
	x := make([]float32, n*h*w*c)
	source.Gather(indices, x)
	if _, err := t.dataInit.Call(tensors.FromFlatDataAndDimensions(x, n, h, w, c)); err != nil {
		return fmt.Errorf("ssl: data-dependent initialisation: %w", err)
	}
	return nil
}

// ErrDiverged is wrapped by the error Train and Step return when a loss is NaN or infinite.
var ErrDiverged = errors.New("semi-supervised GAN training diverged")

// Step runs one update on the next batches and returns its metrics. It returns an error wrapping
// ErrDiverged when a loss is NaN or infinite; the trained state is kept either way.
func (t *Trainer) Step() (StepMetrics, error) {
	if !t.initialised {
		if err := t.initialise(); err != nil {
			return StepMetrics{}, err
		}
	}
	epoch := t.state.Order.Epoch() + 1
	batches := t.state.Order.Next() // [x_lab] or [x_unl, x_unl2, x_lab]
	b := t.cfg.BatchSize
	h, w, c := t.labelled.Shape()
	batch := batches[len(batches)-1]
	t.labelled.Gather(batch, t.xLab)
	for i, idx := range batch {
		t.yLab[i] = int32(t.labelled.Label(idx))
	}
	inputs := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(t.xLab, b, h, w, c), tensors.FromFlatDataAndDimensions(t.yLab, b)}
	if t.gen != nil {
		t.unlabelled.Gather(batches[0], t.xUnl)
		t.unlabelled.Gather(batches[1], t.xUnl2)
		t.drawLatent(t.state.RNG, t.z1)
		t.drawLatent(t.state.RNG, t.z2)
		inputs = append(inputs, tensors.FromFlatDataAndDimensions(t.xUnl, b, h, w, c),
			tensors.FromFlatDataAndDimensions(t.xUnl2, b, h, w, c),
			tensors.FromFlatDataAndDimensions(t.z1, b, t.cfg.LatentDim),
			tensors.FromFlatDataAndDimensions(t.z2, b, t.cfg.LatentDim))
	}
	var outputs []*tensors.Tensor
	var err error
	if t.parallel != nil {
		outputs, err = t.parallel.Call(t.trainStep, inputs...)
	} else {
		args := make([]any, len(inputs))
		for i, input := range inputs {
			args[i] = input
		}
		outputs, err = t.trainStep.Call(args...)
	}
	if err != nil {
		return StepMetrics{}, fmt.Errorf("ssl: step %d: %w", t.state.Step+1, err)
	}
	v := tensors.MustCopyFlatData[float32](outputs[0])
	t.state.Step++
	m := StepMetrics{Step: t.state.Step, Epoch: epoch, LossLab: float64(v[0]), LossUnl: float64(v[1]),
		TrainError: float64(v[2]), GLoss: float64(v[3]), DReal: float64(v[4]), DFake: float64(v[5])}
	t.history = append(t.history, m)
	return m, t.checkDivergence(m)
}

func (t *Trainer) checkDivergence(m StepMetrics) error {
	for _, term := range []struct {
		name  string
		value float64
	}{{"labelled loss", m.LossLab}, {"unlabelled loss", m.LossUnl}, {"generator loss", m.GLoss}} {
		if math.IsNaN(term.value) || math.IsInf(term.value, 0) {
			return fmt.Errorf("%w at step %d: the %s is %v. Resume from the last checkpoint with a lower "+
				"learning rate (now %g; advlab train ssl -resume -lr X), which is finite (non-finite weights are "+
				"never saved), or check that the images are in the generator's output range",
				ErrDiverged, m.Step, term.name, term.value, t.cfg.LearningRate)
		}
	}
	return nil
}

// Evaluate classifies every image of test in inference mode (no input noise, no dropout) with the
// current weights and, when Config.AverageRate enables it and a step was made, with their moving
// average (EvalMetrics.Averaged), counting the errors. It runs in chunks of BatchSize (the last
// chunk padded with repeats, which are not counted).
func (t *Trainer) Evaluate(test Labelled) (EvalMetrics, error) {
	if test == nil || test.Len() == 0 {
		return EvalMetrics{}, errors.New("ssl: no test images")
	}
	h, w, c := test.Shape()
	if th, tw, tc := t.labelled.Shape(); h != th || w != tw || c != tc {
		return EvalMetrics{}, fmt.Errorf("ssl: test images of %dx%dx%d, the model works on %dx%dx%d", h, w, c, th, tw, tc)
	}
	m, err := t.countErrors(t.evaluate, test)
	if err != nil || t.state.Step == 0 {
		return m, err
	}
	if t.cfg.AverageRate >= 0 {
		averaged, err := t.countErrors(t.evaluateAverage, test)
		if err != nil {
			return m, err
		}
		m.Averaged = &averaged
	}
	if t.cfg.ReferenceAverageRate > 0 {
		averaged, err := t.countErrors(t.evaluateReference, test)
		if err != nil {
			return m, err
		}
		m.ReferenceAveraged = &averaged
	}
	return m, nil
}

// countErrors runs an error-counting graph over test.
func (t *Trainer) countErrors(exec *model.Exec, test Labelled) (EvalMetrics, error) {
	h, w, c := test.Shape()
	chunk := t.cfg.BatchSize
	x, labels, indices := make([]float32, chunk*h*w*c), make([]int32, chunk), make([]int, chunk)
	m := EvalMetrics{Images: test.Len()}
	for from := 0; from < test.Len(); from += chunk {
		n := min(chunk, test.Len()-from)
		for i := range indices {
			indices[i] = from + min(i, n-1)
			labels[i] = int32(test.Label(indices[i]))
		}
		test.Gather(indices, x)
		outputs, err := exec.Call(tensors.FromFlatDataAndDimensions(x, chunk, h, w, c),
			tensors.FromFlatDataAndDimensions(labels, chunk))
		if err != nil {
			return EvalMetrics{}, fmt.Errorf("ssl: evaluation: %w", err)
		}
		for _, wrong := range tensors.MustCopyFlatData[int32](outputs[0])[:n] {
			m.Errors += int(wrong)
		}
	}
	m.ErrorRate = float64(m.Errors) / float64(m.Images)
	return m, nil
}

// Sample generates images from latent vectors z ([n, LatentDim] flat) with the generator in
// inference mode. It returns [n, h, w, c] flat.
func (t *Trainer) Sample(z []float32) ([]float32, error) {
	if t.gen == nil {
		return nil, errors.New("ssl: the supervised baseline has no generator")
	}
	images, err := trainloop.InChunks(z, t.cfg.LatentDim, func(chunk []float32, n int) ([]float32, error) {
		outputs, err := t.sample.Call(tensors.FromFlatDataAndDimensions(chunk, n, t.cfg.LatentDim))
		if err != nil {
			return nil, err
		}
		return tensors.MustCopyFlatData[float32](outputs[0]), nil
	})
	if err != nil {
		return nil, fmt.Errorf("ssl: sampling: %w", err)
	}
	return images, nil
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
	Initialised bool           `json:"initialised"`
	History     []StepMetrics  `json:"history"`
	Epochs      []EpochMetrics `json:"epochs"`
}

// Save writes a checkpoint (weights, optimizer state, step, RNG and batch-order state, history)
// to path atomically.
func (t *Trainer) Save(path string) error {
	return t.state.Save(path, t.store, &checkpointMeta{Initialised: t.initialised, History: t.history, Epochs: t.epochs})
}

// Load restores a checkpoint written by Save from a trainer of the same kind and configuration;
// training then continues exactly as if it had not stopped (bit for bit on the same backend).
func (t *Trainer) Load(path string) error {
	var meta checkpointMeta
	if err := t.state.Load(path, t.store, &meta); err != nil {
		return err
	}
	t.initialised, t.history, t.epochs = meta.Initialised, meta.History, meta.Epochs
	// The checkpoint restores the optimizers' learning-rate variables: give them this run's rate.
	for _, scope := range []string{ClassifierScope, GeneratorScope} {
		if err := trainloop.SetLearningRate(t.store.Scope(scope), t.cfg.LearningRate); err != nil {
			return fmt.Errorf("ssl: setting the learning rate of %s: %w", scope, err)
		}
	}
	return nil
}

// ConfigChanges lists the optimiser settings changed when the run was resumed, oldest first
// (LearningRate, Beta1, Beta2 and Epsilon may change on resume; everything else must match).
func (t *Trainer) ConfigChanges() []trainloop.ConfigChange[Config] { return t.state.Changes }

// Snapshot is what a training run reports: the generator's samples for the fixed noise and the
// metrics so far. Whoever watches renders it (a notebook dashboard, the CLI's files).
type Snapshot struct {
	// Step is the number of updates done; Epoch the number of completed epochs.
	Step, Epoch int
	// Samples are the generator's images for FixedNoise, [FixedNoise, h, w, c] flat (nil for the
	// supervised baseline).
	Samples []float32
	// Height, Width, Channels give the samples' shape.
	Height, Width, Channels int
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
	// Test, when set, is evaluated at the end of every epoch (EpochMetrics.Test).
	Test Labelled
	// OnEpoch receives every completed epoch's metrics.
	OnEpoch func(EpochMetrics)
	// OnStep receives every step's metrics (e.g. for a progress bar).
	OnStep func(StepMetrics)
	// SnapshotEvery emits a Snapshot every this many steps and at the end; 0 disables step
	// snapshots. SnapshotEachEpoch emits one at the end of every epoch.
	SnapshotEvery     int
	SnapshotEachEpoch bool
	// OnSnapshot receives the snapshots.
	OnSnapshot func(Snapshot)
	// CheckpointPath, when set, receives a checkpoint every CheckpointEvery steps, when the
	// context is cancelled (an interrupt) and at the end.
	CheckpointPath string
	// CheckpointEvery is the checkpoint interval in steps (0: only on interrupt and at the end).
	CheckpointEvery int
}

// Train runs opts.Steps updates (or until opts.Epochs epochs are complete). Cancelling ctx (a
// notebook interrupt, Ctrl-C) stops it between steps; the state is kept in the trainer and, with
// CheckpointPath set, saved. It returns ctx's error when interrupted and an ErrDiverged error when a
// loss became NaN or infinite.
func (t *Trainer) Train(ctx context.Context, opts TrainOptions) error {
	start := time.Now()
	loop := trainloop.Loop[StepMetrics]{Steps: opts.Steps, Epochs: opts.Epochs, Step: t.Step, OnStep: opts.OnStep,
		EndEpoch:      func(seconds float64) error { return t.endEpoch(opts, seconds) },
		SnapshotEvery: opts.SnapshotEvery, SnapshotEachEpoch: opts.SnapshotEachEpoch, CheckpointEvery: opts.CheckpointEvery}
	if opts.OnSnapshot != nil {
		loop.Snapshot = func() error {
			h, w, c := t.ImageShape()
			snap := Snapshot{Step: t.state.Step, Epoch: t.state.Order.Epoch(), Height: h, Width: w, Channels: c,
				History: t.history, Epochs: t.epochs, Elapsed: time.Since(start)}
			if t.gen != nil && len(t.fixedNoise) > 0 {
				var err error
				if snap.Samples, err = t.Sample(t.fixedNoise); err != nil {
					return err
				}
			}
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
		h := t.history[i]
		m.LossLab += h.LossLab
		m.LossUnl += h.LossUnl
		m.TrainError += h.TrainError
		m.GLoss += h.GLoss
		count++
	}
	if count > 0 {
		m.LossLab /= float64(count)
		m.LossUnl /= float64(count)
		m.TrainError /= float64(count)
		m.GLoss /= float64(count)
	}
	if opts.Test != nil {
		start := time.Now()
		test, err := t.Evaluate(opts.Test)
		if err != nil {
			return err
		}
		m.Test, m.EvalSeconds = &test, time.Since(start).Seconds()
	}
	t.epochs = append(t.epochs, m)
	if opts.OnEpoch != nil {
		opts.OnEpoch(m)
	}
	return nil
}
