package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/advlab/advlab/lib/backend"
)

// sgdStep builds one data-parallel SGD step of a linear model y ≈ x·w on the local shard of a
// batch, the way SPMD data parallelism is written by hand: the mean-squared-error gradient of the
// shard, an all-reduce (sum over the "data" axis of the mesh, divided by its size) so that every
// device applies the same update, then w ← w − lr·ḡ. It returns the loss of the shard before the
// update. On a graph without a mesh the all-reduce is the identity.
func sgdStep(store *model.Store, devices int) func(scope *model.Scope, x, y *graph.Node) *graph.Node {
	return func(scope *model.Scope, x, y *graph.Node) *graph.Node {
		g := x.Graph()
		w := store.Scope("/linear").VariableWithValue("w", [][]float32{{0.5}, {-0.25}})
		prediction := graph.Dot(x, w.NodeValue(g)).Product()                // [B, 1]
		loss := graph.ReduceAllMean(graph.Square(graph.Sub(prediction, y))) // scalar
		grad := graph.Gradient(loss, w.NodeValue(g))[0]
		if devices > 1 || g.NumDevices() > 1 {
			grad = graph.DivScalar(g.Distributed().AllReduceOne(grad, compute.ReduceOpSum), float64(devices))
		}
		w.SetNodeValue(graph.Sub(w.NodeValue(g), graph.MulScalar(grad, 0.1)))
		return loss
	}
}

// runSGD runs one step and returns the loss and the updated weights.
func runSGD(t *testing.T, exec *model.Exec, store *model.Store) (loss float32, w []float32, err error) {
	t.Helper()
	x := tensors.FromValue([][]float32{{1, 2}, {3, 4}, {5, 6}, {7, 8}})
	y := tensors.FromValue([][]float32{{1}, {2}, {3}, {4}})
	// Some failures (a backend without SPMD) surface as panics while the graph is built.
	var outputs []*tensors.Tensor
	var callErr error
	if err = exceptions.TryCatch[error](func() { outputs, callErr = exec.Call(x, y) }); err == nil {
		err = callErr
	}
	if err != nil {
		return 0, nil, err
	}
	v := store.GetVariable("/linear/w")
	if v == nil {
		t.Fatal("variable /linear/w was not created")
	}
	value, err := v.Value()
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](outputs[0])[0], tensors.MustCopyFlatData[float32](value), nil
}

// TestSPMDOneDeviceMesh builds the data-parallel step of docs/performance.md ("Multi-device") on a
// one-device mesh with model.Exec.SPMD and WithDeviceAssignment, and checks that it computes what
// the plain step computes. Backends without distributed execution (the pure-Go backend and ONNX
// Runtime in compute v0.1.6) refuse to build it; the test then skips, saying so.
func TestSPMDOneDeviceMesh(t *testing.T) {
	b, choice, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	plainStore := model.NewStore()
	plain, err := model.NewExec(b, plainStore, sgdStep(plainStore, 1))
	if err != nil {
		t.Fatal(err)
	}
	wantLoss, wantW, err := runSGD(t, plain, plainStore)
	if err != nil {
		t.Fatal(err)
	}

	mesh, err := distributed.NewDeviceMesh([]int{1}, []string{"data"})
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	exec, err := model.NewExec(b, store, sgdStep(store, mesh.NumDevices()))
	if err != nil {
		t.Fatal(err)
	}
	exec = exec.SPMD(mesh).WithDeviceAssignment([]compute.DeviceNum{0})
	loss, w, err := runSGD(t, exec, store)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "not implemented") {
			t.Skipf("backend %s has no SPMD execution (compute v0.1.6): %v. Multi-device data parallelism needs "+
				"XLA through a PJRT plugin (see docs/performance.md)", choice.Config, firstLine(err.Error()))
		}
		t.Fatalf("SPMD step on a 1-device mesh failed on %s: %v", choice.Config, err)
	}
	if math.Abs(float64(loss-wantLoss)) > 1e-5 {
		t.Errorf("SPMD loss %g, plain loss %g", loss, wantLoss)
	}
	for i := range w {
		if math.Abs(float64(w[i]-wantW[i])) > 1e-5 {
			t.Errorf("SPMD w[%d] = %g, plain %g", i, w[i], wantW[i])
		}
	}
	t.Logf("SPMD on a 1-device mesh on %s: loss %g, w %v (same as the plain step)", choice.Config, loss, w)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
