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

// TestDistributedOneDeviceMesh builds the data-parallel SGD step of docs/performance.md
// ("Multi-device") with both of GoMLX's distributed strategies on a one-device mesh, and checks that
// each computes what the plain step computes: AutoSharding (XLA's partitioner; the strategy the
// docs recommend for advlab's engines) and SPMD (the all-reduce written by hand). Backends without
// distributed execution (the pure-Go backend and ONNX Runtime in compute v0.1.6) refuse to build
// either; the subtest then skips, saying so.
func TestDistributedOneDeviceMesh(t *testing.T) {
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
	strategies := map[string]func(*model.Exec) *model.Exec{
		"AutoSharding": func(e *model.Exec) *model.Exec { return e.AutoSharding(mesh) },
		"SPMD":         func(e *model.Exec) *model.Exec { return e.SPMD(mesh) },
	}
	for name, strategy := range strategies {
		t.Run(name, func(t *testing.T) {
			store := model.NewStore()
			exec, err := model.NewExec(b, store, sgdStep(store, mesh.NumDevices()))
			if err != nil {
				t.Fatal(err)
			}
			exec = strategy(exec).WithDeviceAssignment([]compute.DeviceNum{0})
			loss, w, err := runSGD(t, exec, store)
			if err != nil {
				msg := err.Error()
				switch {
				case strings.Contains(strings.ToLower(msg), "not implemented"):
					t.Skipf("backend %s has no %s execution (compute v0.1.6): %v. Multi-device data parallelism "+
						"needs XLA through a PJRT plugin (see docs/performance.md)", choice.Config, name, firstLine(msg))
				case name == "SPMD" && strings.Contains(msg, `mesh "mesh" not found`):
					// go-xla v0.4.5: DistributedSPMD does not register the mesh that the store's
					// replicated variables name in their sharding specs (AutoSharding does).
					t.Skipf("go-xla v0.4.5 cannot build SPMD graphs with model variables on %s: %v", choice.Config,
						firstLine(msg))
				}
				t.Fatalf("%s step on a 1-device mesh failed on %s: %v", name, choice.Config, err)
			}
			if math.Abs(float64(loss-wantLoss)) > 1e-5 {
				t.Errorf("%s loss %g, plain loss %g", name, loss, wantLoss)
			}
			for i := range w {
				if math.Abs(float64(w[i]-wantW[i])) > 1e-5 {
					t.Errorf("%s w[%d] = %g, plain %g", name, i, w[i], wantW[i])
				}
			}
			t.Logf("%s on a 1-device mesh on %s: loss %g, w %v (same as the plain step)", name, choice.Config, loss, w)
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
