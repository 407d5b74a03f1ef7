package nn_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/nn"
)

// benchBatch is the batch size of the DCGAN-64 benchmarks: ADVLAB_BENCH_BATCH, default 16
// (PyTorch's example uses 64).
func benchBatch() int {
	if n, err := strconv.Atoi(os.Getenv("ADVLAB_BENCH_BATCH")); err == nil && n > 0 {
		return n
	}
	return 16
}

// dcgan64Discriminator is the discriminator of pytorch/examples/dcgan with nc=3, ndf=64.
func dcgan64Discriminator(scope *model.Scope, x *graph.Node) *graph.Node {
	x = nn.LeakyReLU(nn.Conv2D(scope.In("conv1"), x, 64, 4).Stride(2).Padding(1).NoBias().Done(), 0.2) // 32x32x64
	for i, filters := range []int{128, 256, 512} {                                                     // 16, 8, 4
		x = nn.Conv2D(scope.In("conv%d", i+2), x, filters, 4).Stride(2).Padding(1).NoBias().Done()
		x = nn.LeakyReLU(nn.BatchNorm(scope.In("bn%d", i+2), x).Done(), 0.2)
	}
	return nn.Conv2D(scope.In("conv5"), x, 1, 4).NoBias().Done() // 1x1x1 logit
}

// dcgan64Generator is the generator of pytorch/examples/dcgan with nz=100, ngf=64, nc=3.
func dcgan64Generator(scope *model.Scope, z *graph.Node) *graph.Node {
	x := nn.ConvTranspose2D(scope.In("convt1"), z, 512, 4).NoBias().Done() // 4x4x512
	x = graph.Max(nn.BatchNorm(scope.In("bn1"), x).Done(), graph.ScalarZero(z.Graph(), z.DType()))
	for i, filters := range []int{256, 128, 64} { // 8, 16, 32
		x = nn.ConvTranspose2D(scope.In("convt%d", i+2), x, filters, 4).Stride(2).Padding(1).NoBias().Done()
		x = graph.Max(nn.BatchNorm(scope.In("bn%d", i+2), x).Done(), graph.ScalarZero(z.Graph(), z.DType()))
	}
	return graph.Tanh(nn.ConvTranspose2D(scope.In("convt5"), x, 3, 4).Stride(2).Padding(1).NoBias().Done()) // 64x64x3
}

// benchmarkForwardBackward times one execution of the network's forward pass and the gradients
// of the sum of its output with respect to every trainable variable (training mode).
func benchmarkForwardBackward(b *testing.B, net func(*model.Scope, *graph.Node) *graph.Node, input shapes.Shape) {
	store := model.NewStore()
	exec := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		store.SetTraining(x.Graph(), true)
		loss := graph.ReduceAllSum(net(scope, x))
		return append([]*graph.Node{loss}, scope.BuildTrainableVariablesGradientsGraph(loss)...)
	})
	x := tensors.FromShape(input)
	exec.MustExec(x) // compile and initialise outside the timing
	b.ResetTimer()
	for range b.N {
		for _, t := range exec.MustExec(x) {
			t.FinalizeAll()
		}
	}
}

func BenchmarkDCGAN64Discriminator(b *testing.B) {
	benchmarkForwardBackward(b, dcgan64Discriminator, shapes.Make(dtypes.Float32, benchBatch(), 64, 64, 3))
}

func BenchmarkDCGAN64Generator(b *testing.B) {
	benchmarkForwardBackward(b, dcgan64Generator, shapes.Make(dtypes.Float32, benchBatch(), 1, 1, 100))
}
