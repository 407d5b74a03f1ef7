package nn_test

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/nn"
)

func TestLeakyReLU(t *testing.T) {
	exec := graph.MustNewExec(backend.MustNew(), func(x *graph.Node) []*graph.Node {
		y := nn.LeakyReLU(x, 0.2)
		return []*graph.Node{y, graph.Gradient(graph.ReduceAllSum(y), x)[0]}
	})
	out := exec.MustExec([]float32{-2, -0.5, 0, 0.5, 3})
	wantY := []float32{-0.4, -0.1, 0, 0.5, 3}
	wantG := []float32{0.2, 0.2, 0.2, 1, 1} // PyTorch: slope where x <= 0
	gotY, gotG := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	for i := range wantY {
		if math.Abs(float64(gotY[i]-wantY[i])) > 1e-6 || gotG[i] != wantG[i] {
			t.Fatalf("LeakyReLU(0.2): got y=%v grad=%v, want y=%v grad=%v", gotY, gotG, wantY, wantG)
		}
	}
}

// TestShapes checks the output-shape rules of every layer, including the DCGAN and TF-tutorial
// shapes, and that Dense keeps the leading axes.
func TestShapes(t *testing.T) {
	store := model.NewStore()
	exec := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, g *graph.Graph) []*graph.Node {
		store.SetTraining(g, true)
		f32 := func(dims ...int) *graph.Node { return graph.Zeros(g, shapes.Make(dtypes.Float32, dims...)) }
		return []*graph.Node{
			nn.Dense(scope.In("dense"), f32(2, 3, 5), 7),                                             // [2, 3, 7]
			nn.Conv2D(scope.In("c1"), f32(2, 64, 64, 3), 8, 4).Stride(2).Padding(1).Done(),           // [2, 32, 32, 8]
			nn.Conv2D(scope.In("c2"), f32(2, 4, 4, 8), 1, 4).NoBias().Done(),                         // [2, 1, 1, 1]
			nn.Conv2D(scope.In("c3"), f32(2, 28, 28, 1), 4, 5).Stride(2).PaddingSame().Done(),        // [2, 14, 14, 4]
			nn.Conv2D(scope.In("c4"), f32(2, 14, 14, 4), 4, 5).Stride(2).PaddingSame().Done(),        // [2, 7, 7, 4]
			nn.ConvTranspose2D(scope.In("t1"), f32(2, 1, 1, 10), 8, 4).Done(),                        // [2, 4, 4, 8]
			nn.ConvTranspose2D(scope.In("t2"), f32(2, 4, 4, 8), 4, 4).Stride(2).Padding(1).Done(),    // [2, 8, 8, 4]
			nn.ConvTranspose2D(scope.In("t3"), f32(2, 7, 7, 8), 4, 5).PaddingSame().Done(),           // [2, 7, 7, 4]
			nn.ConvTranspose2D(scope.In("t4"), f32(2, 7, 7, 8), 4, 5).Stride(2).PaddingSame().Done(), // [2, 14, 14, 4]
			nn.BatchNorm(scope.In("bn"), f32(2, 5, 5, 3)).Done(),                                     // [2, 5, 5, 3]
		}
	})
	want := [][]int{{2, 3, 7}, {2, 32, 32, 8}, {2, 1, 1, 1}, {2, 14, 14, 4}, {2, 7, 7, 4}, {2, 4, 4, 8},
		{2, 8, 8, 4}, {2, 7, 7, 4}, {2, 14, 14, 4}, {2, 5, 5, 3}}
	for i, out := range exec.MustExec() {
		if !shapes.Make(dtypes.Float32, want[i]...).Equal(out.Shape()) {
			t.Errorf("output %d: shape %s, want %v", i, out.Shape(), want[i])
		}
	}
	summary := nn.Summary(store.RootScope())
	for _, line := range []string{"/c1/weights", "(Float32)[4, 4, 3, 8]", "/bn/running_var (fixed)",
		// trainable: dense 5·7+7, c1 4·4·3·8+8, c2 4·4·8·1, c3 5·5·1·4+4, c4 5·5·4·4+4, t1 4·4·10·8+8,
		// t2 4·4·8·4+4, t3 5·5·8·4+4, t4 5·5·8·4+4, bn 3+3; fixed: bn 3+3 (GoMLX's #rngState is not listed).
		"trainable parameters: 4488, non-trainable: 6"} {
		if !strings.Contains(summary, line) {
			t.Errorf("Summary lacks %q:\n%s", line, summary)
		}
	}
	t.Logf("Summary:\n%s", summary)
}

// TestInit checks the statistics of each initialisation on a large layer.
func TestInit(t *testing.T) {
	const fin, fout = 400, 300
	stats := func(init nn.Init) (weights, biases, scale []float32) {
		store := model.NewStore()
		scope := store.RootScope()
		if init != nn.InitPyTorch {
			nn.SetInit(scope, init)
		}
		model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, g *graph.Graph) *graph.Node {
			x := graph.Zeros(g, shapes.Make(dtypes.Float32, 2, fin))
			return nn.BatchNorm(scope.In("bn"), nn.Dense(scope.In("fc"), x, fout)).Done()
		}).MustExec()
		get := func(path string) []float32 {
			return tensors.MustCopyFlatData[float32](store.GetVariable(path).MustValue())
		}
		return get("/fc/weights"), get("/fc/biases"), get("/bn/scale")
	}
	meanStd := func(v []float32) (mean, std, maxAbs float64) {
		for _, x := range v {
			mean += float64(x)
			maxAbs = max(maxAbs, math.Abs(float64(x)))
		}
		mean /= float64(len(v))
		for _, x := range v {
			std += (float64(x) - mean) * (float64(x) - mean)
		}
		return mean, math.Sqrt(std / float64(len(v))), maxAbs
	}
	near := func(what string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.4g, want %.4g ± %.2g", what, got, want, tol)
		}
	}
	bound := 1 / math.Sqrt(fin) // U(−b, b): std b/√3
	w, b, s := stats(nn.InitPyTorch)
	_, wStd, wMax := meanStd(w)
	_, bStd, bMax := meanStd(b)
	near("pytorch weight std", wStd, bound/math.Sqrt(3), 0.02*bound)
	near("pytorch bias std", bStd, bound/math.Sqrt(3), 0.15*bound)
	// Drawn in float32, a value can round to the bound itself (float32(0.05) > 0.05 in float64).
	if bound32 := float64(float32(bound)); wMax > bound32 || bMax > bound32 {
		t.Errorf("pytorch init exceeds the bound %.10g: weights %.10g, biases %.10g", bound, wMax, bMax)
	}
	if sMean, sStd, _ := meanStd(s); sMean != 1 || sStd != 0 {
		t.Errorf("pytorch BatchNorm scale: mean %g std %g, want exactly 1 and 0", sMean, sStd)
	}

	w, _, s = stats(nn.InitDCGAN)
	wMean, wStd, _ := meanStd(w)
	near("dcgan weight mean", wMean, 0, 0.001)
	near("dcgan weight std", wStd, 0.02, 0.0005)
	sMean, sStd, _ := meanStd(s)
	near("dcgan BatchNorm scale mean", sMean, 1, 0.006)
	near("dcgan BatchNorm scale std", sStd, 0.02, 0.005)

	w, b, _ = stats(nn.InitKeras)
	_, wStd, _ = meanStd(w)
	limit := math.Sqrt(6.0 / (fin + fout))
	near("keras weight std", wStd, limit/math.Sqrt(3), 0.02*limit)
	if _, bStd, bMax := meanStd(b); bStd != 0 || bMax != 0 {
		t.Errorf("keras biases not zero: std %g max %g", bStd, bMax)
	}
}

// TestPanics checks that misuse panics with a message naming the layer.
func TestPanics(t *testing.T) {
	for name, build := range map[string]func(scope *model.Scope, g *graph.Graph){
		"nn.Conv2D": func(scope *model.Scope, g *graph.Graph) {
			nn.Conv2D(scope, graph.Zeros(g, shapes.Make(dtypes.Float32, 2, 8, 8)), 4, 3).Done()
		},
		"nn.ConvTranspose2D": func(scope *model.Scope, g *graph.Graph) {
			nn.ConvTranspose2D(scope, graph.Zeros(g, shapes.Make(dtypes.Float32, 2, 4, 4, 3)), 4, 4).Stride(2).OutputPadding(2).Done()
		},
		"nn.BatchNorm": func(scope *model.Scope, g *graph.Graph) {
			scope.Store().SetTraining(g, true)
			nn.BatchNorm(scope, graph.Zeros(g, shapes.Make(dtypes.Float32, 1, 3))).Done()
		},
	} {
		err := func() (err any) {
			defer func() { err = recover() }()
			model.MustNewExec(backend.MustNew(), model.NewStore(), func(scope *model.Scope, g *graph.Graph) *graph.Node {
				build(scope, g)
				return graph.Scalar(g, dtypes.Float32, 0)
			}).MustExec()
			return nil
		}()
		if err == nil || !strings.Contains(errorString(err), name) {
			t.Errorf("%s: want a panic naming the layer, got %v", name, err)
		}
	}
}

func errorString(v any) string {
	if e, ok := v.(error); ok {
		return e.Error()
	}
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
