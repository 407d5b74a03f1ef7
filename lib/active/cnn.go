package active

import (
	"context"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/nn"
	"github.com/advlab/advlab/lib/ssl"
	"github.com/advlab/advlab/lib/trainloop"
)

// CNNConfig configures the CNN learner. Zero fields take the defaults.
type CNNConfig struct {
	// Steps is the number of Adam updates per Fit (default 300): with a few hundred labels that is
	// tens of epochs, enough for the training loss to flatten.
	Steps int
	// BatchSize is the number of labelled examples per update (default 32); smaller labelled sets
	// are tiled.
	BatchSize int
	// LearningRate is Adam's step size (default 1e-3; β₁ 0.9, β₂ 0.999, ε 1e-8).
	LearningRate float64
	// Filters are the channels of the two convolutions (default 16 and 32).
	Filters [2]int
	// Hidden is the width of the dense layer (default 64).
	Hidden int
}

func (c CNNConfig) withDefaults() CNNConfig {
	if c.Steps == 0 {
		c.Steps = 300
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.LearningRate == 0 {
		c.LearningRate = 1e-3
	}
	if c.Filters == [2]int{} {
		c.Filters = [2]int{16, 32}
	}
	if c.Hidden == 0 {
		c.Hidden = 64
	}
	return c
}

// CNN is the small convolutional task model, for any number of classes:
//
//	conv1  Conv2D(C→16, 3, stride 2, pad 1) + ReLU     # 28x28: [B, 14, 14, 16]   32x32: [B, 16, 16, 16]
//	conv2  Conv2D(16→32, 3, stride 2, pad 1) + ReLU    # 28x28: [B, 7, 7, 32]     32x32: [B, 8, 8, 32]
//	flatten                                            # [B, 1568] / [B, 2048]
//	fc     Dense(64) + ReLU                            # [B, 64]
//	out    Dense(K)                                    # [B, K] logits
//
// trained with softmax cross-entropy and Adam, from scratch (PyTorch's default initialisation
// drawn from the Fit seed) on every Fit; the compiled graphs are kept from one Fit to the next
// (keptNetworks). No batch norm: labelled sets of a few dozen images make batch statistics noisy.
type CNN struct {
	cfg        CNNConfig
	numClasses int
	backend    compute.Backend
	kept       keptNetworks[*cnnGraphs]
	store      *model.Store // the kept store, read by logits
	infer      *model.Exec  // set by a successful Fit
	height     int
	width      int
	channels   int
	// LastLoss is the training loss of the last update of the last Fit.
	LastLoss float64
}

// cnnGraphs are the CNN's store and compiled graphs.
type cnnGraphs struct {
	store       *model.Store
	step, infer *model.Exec
}

func (g *cnnGraphs) storeOf() *model.Store { return g.store }

// NewCNN returns an untrained CNN learner for numClasses classes that runs on backend.
func NewCNN(backend compute.Backend, numClasses int, cfg CNNConfig) *CNN {
	return &CNN{cfg: cfg.withDefaults(), numClasses: numClasses, backend: backend}
}

// Name returns "cnn".
func (c *CNN) Name() string { return "cnn" }

// NumClasses is K.
func (c *CNN) NumClasses() int { return c.numClasses }

// cnnScope is the scope of the CNN's variables.
const cnnScope = "/cnn"

func (c *CNN) logits(x *graph.Node) *graph.Node {
	scope := c.store.Scope(cnnScope)
	nn.SetInit(scope, nn.InitPyTorch)
	relu := func(x *graph.Node) *graph.Node { return graph.Max(x, graph.ZerosLike(x)) }
	h := relu(nn.Conv2D(scope.In("conv1"), x, c.cfg.Filters[0], 3).Stride(2).Padding(1).Done()) // [B, H/2, W/2, 16]
	h = relu(nn.Conv2D(scope.In("conv2"), h, c.cfg.Filters[1], 3).Stride(2).Padding(1).Done())  // [B, H/4, W/4, 32]
	h = graph.Reshape(h, h.Shape().Dimensions[0], -1)                                           // [B, H/4·W/4·32]
	h = relu(nn.Dense(scope.In("fc"), h, c.cfg.Hidden))                                         // [B, 64]
	return nn.Dense(scope.In("out"), h, c.numClasses)                                           // [B, K]
}

// Fit trains a fresh network on train: Steps updates of BatchSize examples in an order drawn
// from seed.
func (c *CNN) Fit(ctx context.Context, train data.Floats, seed uint64) error {
	if train.N == 0 {
		return fmt.Errorf("active: cnn: no training examples")
	}
	for _, label := range train.Labels {
		if label < 0 || label >= c.numClasses {
			return fmt.Errorf("active: cnn: label %d, want 0..%d", label, c.numClasses-1)
		}
	}
	c.infer = nil
	c.kept.mu.Lock()
	defer c.kept.mu.Unlock()
	key := [3]int{train.Height, train.Width, train.Channels}
	graphs, err := c.kept.get(key, seed, func() (*cnnGraphs, error) { return c.build(train.Height, train.Width, train.Channels) })
	if err != nil {
		return err
	}
	if err := c.train(ctx, graphs.step, train, seed); err != nil {
		c.kept.drop()
		return err
	}
	c.infer, err = inferenceExec(c.backend, &graphs.infer, func() (*model.Exec, error) {
		return model.NewExec(c.backend, c.store, func(_ *model.Scope, x *graph.Node) *graph.Node {
			return graph.Softmax(c.logits(x), -1)
		})
	})
	return err
}

// build creates the store and compiles the training step for images of the given shape.
func (c *CNN) build(height, width, channels int) (*cnnGraphs, error) {
	c.height, c.width, c.channels = height, width, channels
	c.store = model.NewStore()
	graphs := &cnnGraphs{store: c.store}
	var err error
	graphs.step, err = model.NewExec(c.backend, c.store, func(_ *model.Scope, x, labels *graph.Node) *graph.Node {
		c.store.SetTraining(x.Graph(), true)
		loss := ssl.SupervisedLoss(c.logits(x), labels) // softmax cross-entropy
		optimizer.Adam().LearningRate(c.cfg.LearningRate).Betas(0.9, 0.999).Epsilon(1e-8).Done().
			UpdateGraph(c.store.RootScope(), x.Graph(), loss)
		return loss
	})
	if err == nil {
		_, err = graphs.step.Compile(shapes.Make(dtypes.Float32, c.cfg.BatchSize, height, width, channels),
			shapes.Make(dtypes.Int32, c.cfg.BatchSize))
	}
	if err != nil {
		c.store.Finalize()
		return nil, err
	}
	return graphs, nil
}

// train runs the Fit's updates with the step graph, from the store's initial state.
func (c *CNN) train(ctx context.Context, step *model.Exec, train data.Floats, seed uint64) error {
	order := trainloop.NewOrder(seed, c.cfg.BatchSize, train.N)
	size := train.Height * train.Width * train.Channels
	images := make([]float32, c.cfg.BatchSize*size)
	labels := make([]int32, c.cfg.BatchSize)
	for s := range c.cfg.Steps {
		if s%20 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		batch := order.Next()[0]
		train.Gather(batch, images)
		for k, i := range batch {
			labels[k] = int32(train.Labels[i])
		}
		out, err := step.Call(tensors.FromFlatDataAndDimensions(images, c.cfg.BatchSize, c.height, c.width, c.channels),
			tensors.FromFlatDataAndDimensions(labels, c.cfg.BatchSize))
		if err != nil {
			return fmt.Errorf("active: cnn: step %d: %w", s+1, err)
		}
		c.LastLoss = float64(tensors.ToScalar[float32](out[0]))
	}
	return nil
}

// Predict returns the softmax probabilities [n, K] of n images, computed in batches of
// inferenceBatch(n) images (the last one padded with zeros, whose rows are dropped), so that a
// handful of compiled shapes serve every n.
func (c *CNN) Predict(images []float32, n int) ([]float32, error) {
	if c.infer == nil {
		return nil, fmt.Errorf("active: cnn: Predict before Fit")
	}
	size := c.height * c.width * c.channels
	if len(images) != n*size {
		return nil, fmt.Errorf("active: cnn: got %d values for %d images of %dx%dx%d", len(images), n, c.height, c.width, c.channels)
	}
	chunk := inferenceBatch(n)
	buffer := make([]float32, chunk*size)
	probs := make([]float32, 0, n*c.numClasses)
	for start := 0; start < n; start += chunk {
		count := min(chunk, n-start)
		copy(buffer, images[start*size:(start+count)*size])
		clear(buffer[count*size:])
		out, err := c.infer.Call(tensors.FromFlatDataAndDimensions(buffer, chunk, c.height, c.width, c.channels))
		if err != nil {
			return nil, fmt.Errorf("active: cnn: predicting: %w", err)
		}
		probs = append(probs, tensors.MustCopyFlatData[float32](out[0])[:count*c.numClasses]...)
	}
	return probs, nil
}

// inferenceBatch is the batch size inference graphs run n images in: 256 for large n, else the
// power of two (at least 16) that holds n.
func inferenceBatch(n int) int {
	batch := 16
	for batch < n && batch < 256 {
		batch *= 2
	}
	return batch
}
