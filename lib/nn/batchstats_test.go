package nn_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/nn"
)

// TestUseBatchStatistics checks that an inference graph marked with UseBatchStatistics normalises
// with the batch's own statistics and leaves the running statistics untouched, while an unmarked
// inference graph uses the running statistics.
func TestUseBatchStatistics(t *testing.T) {
	x := []float32{1, 10, 3, 20, 5, 30, 7, 40} // [4, 2]: channel 0 has mean 4, channel 1 mean 25.
	run := func(batchStats bool) (out, runningMean []float32) {
		store := model.NewStore()
		outputs := model.MustCallOnceN(backend.MustNew(), store, func(scope *model.Scope, in *graph.Node) []*graph.Node {
			if batchStats {
				nn.UseBatchStatistics(store.RootScope(), in.Graph())
			}
			return []*graph.Node{nn.BatchNorm(scope.In("bn"), in).Done()}
		}, tensors.FromFlatDataAndDimensions(x, 4, 2))
		return tensors.MustCopyFlatData[float32](outputs[0]),
			tensors.MustCopyFlatData[float32](store.GetVariable("/bn/running_mean").MustValue())
	}
	out, running := run(true)
	for c := 0; c < 2; c++ {
		var mean, sq float64
		for i := 0; i < 4; i++ {
			mean += float64(out[2*i+c]) / 4
			sq += float64(out[2*i+c]) * float64(out[2*i+c]) / 4
		}
		if math.Abs(mean) > 1e-5 || math.Abs(sq-1) > 1e-3 {
			t.Errorf("channel %d with batch statistics: mean %.4g, mean square %.4g; want 0 and 1", c, mean, sq)
		}
	}
	if running[0] != 0 || running[1] != 0 {
		t.Errorf("running mean changed to %v by an inference graph, want it left at 0", running)
	}
	out, _ = run(false)
	if want := float32(1 / math.Sqrt(1+1e-5)); math.Abs(float64(out[0]-want)) > 1e-5 {
		t.Errorf("running statistics (mean 0, var 1): first output %v, want %v", out[0], want)
	}
}
