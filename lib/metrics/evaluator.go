package metrics

import (
	"fmt"
	"math"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/nn"
)

// Shape of the evaluator's inputs and outputs.
const (
	// ImageSide is the height and width of the images the evaluator reads (28, MNIST's size).
	ImageSide = 28
	// ImageSize is the number of values in one input image: 28·28·1.
	ImageSize = ImageSide * ImageSide
	// NumClasses is the number of classes the evaluator tells apart (10 digits or 10 garments).
	NumClasses = 10
	// FeatureSize is the length of the feature vector of one image: the activations of the
	// evaluator's penultimate layer (Dense 128 after batch norm and ReLU), on which FID is computed.
	FeatureSize = 128
	// EvaluatorBatchSize is the fixed batch of the evaluator's inference graph: Classify and
	// Features cut their input into batches of this size (padding the last with zeros), so one
	// compiled graph serves any number of images.
	EvaluatorBatchSize = 250
)

// EvaluatorScope is the scope path under which the evaluator's variables live.
const EvaluatorScope = "/evaluator"

// EvaluatorNet is the evaluator CNN, built from lib/nn layers: images x [B, 28, 28, 1] with values
// in [-1, 1] (data.RangeMinusOneOne, the range of a tanh generator) go to class logits
// [B, 10] and to the penultimate features [B, 128]. Every convolution is 3x3 with stride 2 and
// padding 1 (downsampling by stride, no pooling), followed by batch norm and ReLU:
//
//	conv1  Conv2D(1→32,   3, stride 2, pad 1) + BN + ReLU   # [B, 14, 14, 32]
//	conv2  Conv2D(32→64,  3, stride 2, pad 1) + BN + ReLU   # [B, 7, 7, 64]
//	conv3  Conv2D(64→128, 3, stride 2, pad 1) + BN + ReLU   # [B, 4, 4, 128]
//	flatten                                                 # [B, 2048]
//	fc1    Dense(2048→128) + BN + ReLU  = features          # [B, 128]
//	fc2    Dense(128→10)                = logits            # [B, 10]
//
// About 357k parameters (1.4 MB in float32) and 2.4 million multiply-adds per image, small enough
// to train in minutes on the pure-Go backend. Batch norm uses the batch statistics in training
// graphs and the running statistics otherwise (see nn.BatchNorm). Variables are created under
// scope (see EvaluatorScope), one sub-scope per layer.
func EvaluatorNet(scope *model.Scope, x *graph.Node) (logits, features *graph.Node) {
	if x.Rank() != 4 || x.Shape().Dimensions[1] != ImageSide || x.Shape().Dimensions[2] != ImageSide ||
		x.Shape().Dimensions[3] != 1 {
		exceptions.Panicf("metrics.EvaluatorNet: want images [B, %d, %d, 1], got shape %s", ImageSide, ImageSide, x.Shape())
	}
	convBlock := func(name string, x *graph.Node, filters int) *graph.Node {
		x = nn.Conv2D(scope.In("%s", name), x, filters, 3).Stride(2).Padding(1).Done()
		x = nn.BatchNorm(scope.In("%s_bn", name), x).Done()
		return activation.Relu(x)
	}
	batch := x.Shape().Dimensions[0]
	x = convBlock("conv1", x, 32)   // [B, 14, 14, 32]
	x = convBlock("conv2", x, 64)   // [B, 7, 7, 64]
	x = convBlock("conv3", x, 128)  // [B, 4, 4, 128]
	x = graph.Reshape(x, batch, -1) // [B, 2048]
	x = nn.Dense(scope.In("fc1"), x, FeatureSize)
	x = nn.BatchNorm(scope.In("fc1_bn"), x).Done()
	features = activation.Relu(x)                            // [B, 128]
	logits = nn.Dense(scope.In("fc2"), features, NumClasses) // [B, 10]
	return logits, features
}

// Evaluator is a trained evaluator CNN (see EvaluatorNet) ready to classify images and extract
// their features. Create it with LoadEvaluator (the committed weights), LoadEvaluatorFile or
// TrainEvaluator. Its methods are safe for concurrent use (calls run one at a time).
type Evaluator struct {
	// Dataset is the dataset the evaluator was trained on ("mnist" or "fashion").
	Dataset string
	// Info describes how the weights were trained and how well they did.
	Info EvaluatorInfo

	backend compute.Backend
	store   *model.Store
	mu      sync.Mutex
	infer   *model.Exec // images [EvaluatorBatchSize, 28, 28, 1] → probabilities [., 10], features [., 128]
	batch   []float32   // staging buffer of one padded batch
}

// EvaluatorInfo is the record kept with an evaluator's weights (in the checkpoint's metadata).
type EvaluatorInfo struct {
	// Dataset is the dataset trained on ("mnist" or "fashion").
	Dataset string `json:"dataset"`
	// Epochs, BatchSize, LearningRate and Seed are the training configuration used.
	Epochs       int     `json:"epochs"`
	BatchSize    int     `json:"batch_size"`
	LearningRate float64 `json:"learning_rate"`
	Seed         uint64  `json:"seed"`
	// TestAccuracy is the accuracy measured on the dataset's full test split after training.
	TestAccuracy float64 `json:"test_accuracy"`
	// TestImages is the number of test images TestAccuracy was measured on.
	TestImages int `json:"test_images"`
	// TrainSeconds is the wall time of the training run, in seconds.
	TrainSeconds float64 `json:"train_seconds"`
	// Backend names the backend configuration the training ran on.
	Backend string `json:"backend"`
}

// newEvaluator wraps a store holding the evaluator's variables and prepares its inference graph.
func newEvaluator(b compute.Backend, store *model.Store, info EvaluatorInfo) (*Evaluator, error) {
	e := &Evaluator{Dataset: info.Dataset, Info: info, backend: b, store: store,
		batch: make([]float32, EvaluatorBatchSize*ImageSize)}
	var err error
	e.infer, err = model.NewExec(b, store, func(_ *model.Scope, images *graph.Node) []*graph.Node {
		logits, features := EvaluatorNet(store.Scope(EvaluatorScope), images)
		return []*graph.Node{graph.Softmax(logits), features}
	})
	if err != nil {
		return nil, fmt.Errorf("metrics: preparing the evaluator graph: %w", err)
	}
	return e, nil
}

// run feeds n images (flat NHWC [n, 28, 28, 1], values in [-1, 1]) through the inference graph
// batch by batch and calls consume with the rows [start, start+count) of each batch's outputs.
func (e *Evaluator) run(images []float32, n int, consume func(start, count int, probs, features []float32)) error {
	if n < 0 || len(images) != n*ImageSize {
		return fmt.Errorf("metrics: got %d image values for n=%d images, want n·28·28 = %d", len(images), n, n*ImageSize)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for start := 0; start < n; start += EvaluatorBatchSize {
		count := min(EvaluatorBatchSize, n-start)
		copy(e.batch, images[start*ImageSize:(start+count)*ImageSize])
		clear(e.batch[count*ImageSize:]) // padding rows of the last batch; their outputs are dropped.
		input := tensors.FromFlatDataAndDimensions(e.batch, EvaluatorBatchSize, ImageSide, ImageSide, 1)
		outputs, err := e.infer.Call(input)
		if err != nil {
			return fmt.Errorf("metrics: evaluator on images %d..%d: %w", start, start+count-1, err)
		}
		probs := tensors.MustCopyFlatData[float32](outputs[0])
		features := tensors.MustCopyFlatData[float32](outputs[1])
		consume(start, count, probs[:count*NumClasses], features[:count*FeatureSize])
	}
	return nil
}

// Classify returns the predicted class (argmax of the softmax) of each of the n images and the
// class probabilities [n, 10] (flat, row after row). images is flat NHWC [n, 28, 28, 1] with
// values in [-1, 1].
func (e *Evaluator) Classify(images []float32, n int) (labels []int, probs []float32, err error) {
	labels, probs, _, err = e.classify(images, n, false)
	return labels, probs, err
}

// classify is Classify, and also Features in the same pass over the images when withFeatures is
// set.
func (e *Evaluator) classify(images []float32, n int, withFeatures bool) (labels []int, probs, features []float32, err error) {
	labels = make([]int, n)
	probs = make([]float32, n*NumClasses)
	if withFeatures {
		features = make([]float32, n*FeatureSize)
	}
	err = e.run(images, n, func(start, count int, p, f []float32) {
		copy(probs[start*NumClasses:], p)
		if withFeatures {
			copy(features[start*FeatureSize:], f)
		}
		for i := range count {
			row := p[i*NumClasses : (i+1)*NumClasses]
			best := 0
			for c, v := range row {
				if v > row[best] {
					best = c
				}
			}
			labels[start+i] = best
		}
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return labels, probs, features, nil
}

// Features returns the penultimate-layer features of the n images, [n, FeatureSize] flat (row
// after row). images is flat NHWC [n, 28, 28, 1] with values in [-1, 1].
func (e *Evaluator) Features(images []float32, n int) ([]float32, error) {
	features := make([]float32, n*FeatureSize)
	err := e.run(images, n, func(start, _ int, _, f []float32) {
		copy(features[start*FeatureSize:], f)
	})
	if err != nil {
		return nil, err
	}
	return features, nil
}

// Accuracy returns the fraction of the images of set that the evaluator classifies as their
// label. set must hold 28x28x1 images (MNIST-like); it is scaled to [-1, 1] first.
func (e *Evaluator) Accuracy(set *data.Set) (float64, error) {
	if set == nil || set.N == 0 {
		return 0, fmt.Errorf("metrics: Accuracy needs a non-empty set")
	}
	if set.Height != ImageSide || set.Width != ImageSide || set.Channels != 1 {
		return 0, fmt.Errorf("metrics: the evaluator reads 28x28x1 images, set %q has %dx%dx%d",
			set.Name, set.Height, set.Width, set.Channels)
	}
	labels, _, err := e.Classify(set.Float32(data.RangeMinusOneOne), set.N)
	if err != nil {
		return 0, err
	}
	correct := 0
	for i, label := range labels {
		if label == int(set.Labels[i]) {
			correct++
		}
	}
	return float64(correct) / float64(set.N), nil
}

// Store returns the model store holding the evaluator's variables (under EvaluatorScope).
func (e *Evaluator) Store() *model.Store { return e.store }

// isFinite reports whether every value of xs is a finite number.
func isFinite(xs []float32) bool {
	for _, x := range xs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
