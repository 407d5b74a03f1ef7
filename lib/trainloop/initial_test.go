package trainloop

import (
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
)

// counterModel builds a graph over a store with a drawn variable w (U[0, 1) from the store's random
// state) and a given one, count (created with the value 10): each run adds x to w and 1 to count and
// returns both.
func counterModel(t *testing.T, seed int64) (*model.Store, *model.Exec) {
	t.Helper()
	store := model.NewStore()
	store.RootScope().SetParam(model.ParamInitialSeed, seed)
	exec, err := model.NewExec(backend.MustNew(), store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		g := x.Graph()
		w := scope.WithInitializer(func(g *graph.Graph, shape shapes.Shape) *graph.Node {
			return scope.RandomUniform(g, shape)
		}).VariableWithShape("w", shapes.Make(dtypes.Float32, 3))
		count := scope.VariableWithValue("count", float32(10))
		w.SetNodeValue(graph.Add(w.NodeValue(g), x))
		count.SetNodeValue(graph.AddScalar(count.NodeValue(g), 1))
		return []*graph.Node{w.NodeValue(g), count.NodeValue(g)}
	})
	if err != nil {
		t.Fatal(err)
	}
	return store, exec
}

func runCounter(t *testing.T, exec *model.Exec) []float32 {
	t.Helper()
	out, err := exec.Call([]float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	return append(tensors.MustCopyFlatData[float32](out[0]), tensors.ToScalar[float32](out[1]))
}

func TestInitialResetEqualsANewStore(t *testing.T) {
	store, exec := counterModel(t, 5)
	if _, err := exec.Compile(shapes.Make(dtypes.Float32, 3)); err != nil {
		t.Fatal(err)
	}
	initial, err := RecordInitial(store)
	if err != nil {
		t.Fatal(err)
	}
	first := runCounter(t, exec)
	runCounter(t, exec)
	for _, seed := range []int64{7, 5} {
		if err := initial.Reset(seed); err != nil {
			t.Fatal(err)
		}
		got := runCounter(t, exec)
		_, fresh := counterModel(t, seed)
		want := runCounter(t, fresh)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("seed %d after Reset: w, count = %v, a new store gives %v", seed, got, want)
			}
		}
		if got[3] != 11 {
			t.Errorf("count %g after Reset and one run, want 11 (its initial 10, plus 1)", got[3])
		}
		if seed == 5 && got[0] != first[0] {
			t.Errorf("Reset(5) drew w[0] = %g, the first run with seed 5 %g", got[0], first[0])
		}
	}
}

func TestInitialRefusesWhatItCannotRestore(t *testing.T) {
	store, exec := counterModel(t, 5)
	runCounter(t, exec)
	if _, err := RecordInitial(store); err == nil || !strings.Contains(err.Error(), "already been drawn from") {
		t.Errorf("RecordInitial after a run: error %v, want one saying its random state was drawn from", err)
	}

	store, exec = counterModel(t, 5)
	if _, err := exec.Compile(shapes.Make(dtypes.Float32, 3)); err != nil {
		t.Fatal(err)
	}
	initial, err := RecordInitial(store)
	if err != nil {
		t.Fatal(err)
	}
	store.RootScope().VariableWithValue("late", float32(1))
	if err := initial.Reset(7); err == nil || !strings.Contains(err.Error(), "3 variables, 2 when") {
		t.Errorf("Reset with a variable created after RecordInitial: error %v, want a count mismatch", err)
	}
}
