package nn_test

import (
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/internal/torchfix"
	"github.com/advlab/advlab/lib/nn"
)

// parityTolerance is the largest relative error (torchfix.MaxRelError) accepted against PyTorch.
const parityTolerance = 1e-4

func loadFixture(t *testing.T, name string) *torchfix.Fixture {
	t.Helper()
	f, err := torchfix.Load(filepath.Join("testdata", name+".tfx"))
	if err != nil {
		t.Fatalf("%v (regenerate with scripts/fixtures/make_fixtures.py)", err)
	}
	return f
}

// layerParam is one variable of the layer under test: its name in the layer's scope, its value in
// advlab's layout, and the fixture tensor (PyTorch layout) holding the expected gradient.
type layerParam struct {
	name     string
	value    torchfix.Tensor
	gradName string
	toLayout func(torchfix.Tensor) torchfix.Tensor
}

func identity(t torchfix.Tensor) torchfix.Tensor { return t }

// checkLayer sets the layer's variables from the fixture, runs build on x, and compares the
// output and the gradients of sum(y·upstream) with respect to x and to every parameter.
// image says whether x and y are NCHW in the fixture (converted to NHWC).
func checkLayer(t *testing.T, f *torchfix.Fixture, image bool, params []layerParam,
	build func(scope *model.Scope, x *graph.Node) *graph.Node) {
	t.Helper()
	act := identity
	if image {
		act = torchfix.NCHWToNHWC
	}
	store := model.NewStore()
	layerScope := store.Scope("/layer")
	for _, p := range params {
		if _, err := layerScope.CreateVariable(p.name, p.value.ToTensor()); err != nil {
			t.Fatalf("creating variable %s: %v", p.name, err)
		}
	}
	exec := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, x, upstream *graph.Node) []*graph.Node {
		y := build(scope.In("layer"), x)
		loss := graph.ReduceAllSum(graph.Mul(y, upstream))
		wrt := []*graph.Node{x}
		for _, p := range params {
			wrt = append(wrt, store.GetVariable("/layer/"+p.name).NodeValue(x.Graph()))
		}
		return append([]*graph.Node{y}, graph.Gradient(loss, wrt...)...)
	})
	outputs := exec.MustExec(act(f.Get("x")).ToTensor(), act(f.Get("upstream")).ToTensor())
	compare(t, "y", outputs[0], act(f.Get("y")))
	compare(t, "grad_x", outputs[1], act(f.Get("grad_x")))
	for i, p := range params {
		compare(t, "grad_"+p.name, outputs[2+i], p.toLayout(f.Get(p.gradName)))
	}
}

// compare requires got to equal want (advlab layout) within parityTolerance and logs the error.
func compare(t *testing.T, what string, got *tensors.Tensor, want torchfix.Tensor) {
	t.Helper()
	dims := got.Shape().Dimensions
	if len(dims) != len(want.Shape) {
		t.Fatalf("%s: shape %v, PyTorch %v", what, dims, want.Shape)
	}
	for i := range dims {
		if dims[i] != want.Shape[i] {
			t.Fatalf("%s: shape %v, PyTorch %v", what, dims, want.Shape)
		}
	}
	rel := torchfix.MaxRelError(tensors.MustCopyFlatData[float32](got), want.Data)
	t.Logf("%-14s max relative error %.2e", what, rel)
	if rel > parityTolerance {
		t.Errorf("%s: max relative error %.3g against PyTorch exceeds %g", what, rel, parityTolerance)
	}
}

func weightAndBias(f *torchfix.Fixture, toLayout func(torchfix.Tensor) torchfix.Tensor) []layerParam {
	params := []layerParam{{name: "weights", value: toLayout(f.Get("weight")), gradName: "grad_weight", toLayout: toLayout}}
	if _, found := f.Tensors["bias"]; found {
		params = append(params, layerParam{name: "biases", value: f.Get("bias"), gradName: "grad_bias", toLayout: identity})
	}
	return params
}

func TestConv2DParity(t *testing.T) {
	for _, name := range []string{"conv2d_k4s2p1", "conv2d_k4s1p0_4x4", "conv2d_k5s2_same", "conv2d_k3s1p1", "conv2d_k4s2p1_nobias"} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			pad := f.Ints("padding")
			params := weightAndBias(f, torchfix.ConvWeight)
			checkLayer(t, f, true, params, func(scope *model.Scope, x *graph.Node) *graph.Node {
				b := nn.Conv2D(scope, x, f.Int("out"), f.Int("kernel")).Stride(f.Int("stride"))
				if name == "conv2d_k5s2_same" {
					b = b.PaddingSame() // the fixture pads (1, 2) explicitly, as TensorFlow does
				} else {
					b = b.PaddingPerSide(nn.Pad2D{Top: pad[0], Bottom: pad[1], Left: pad[2], Right: pad[3]})
				}
				if len(params) == 1 {
					b = b.NoBias()
				}
				return b.Done()
			})
		})
	}
}

func TestConvTranspose2DParity(t *testing.T) {
	for _, name := range []string{"convt_k4s2p1", "convt_k4s1p0_1x1", "convt_k5s1_same", "convt_k5s2_same_7to14",
		"convt_k5s2_same_14to28", "convt_k5s2p2op1", "convt_k3s2p1op1_nobias", "convt_k4s3p2"} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			params := weightAndBias(f, torchfix.ConvTransposeWeight)
			checkLayer(t, f, true, params, func(scope *model.Scope, x *graph.Node) *graph.Node {
				b := nn.ConvTranspose2D(scope, x, f.Int("out"), f.Int("kernel")).Stride(f.Int("stride"))
				if f.Int("crop_to") > 0 || name == "convt_k5s1_same" {
					b = b.PaddingSame() // Keras Conv2DTranspose(padding='same')
				} else {
					b = b.Padding(f.Int("padding")).OutputPadding(f.Int("output_padding"))
				}
				if len(params) == 1 {
					b = b.NoBias()
				}
				return b.Done()
			})
		})
	}
}

func TestDenseParity(t *testing.T) {
	f := loadFixture(t, "linear")
	checkLayer(t, f, false, weightAndBias(f, torchfix.LinearWeight), func(scope *model.Scope, x *graph.Node) *graph.Node {
		return nn.Dense(scope, x, f.Int("out"))
	})
}

func TestBatchNormParity(t *testing.T) {
	for _, name := range []string{"bn1d", "bn2d", "bn2d_noaffine_m03_eps1e3"} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			act := identity
			if len(f.Get("x").Shape) == 4 {
				act = torchfix.NCHWToNHWC
			}
			affine := f.Meta["affine"] == true
			build := func(scope *model.Scope, x *graph.Node) *graph.Node {
				b := nn.BatchNorm(scope, x).Momentum(f.Float("momentum")).Epsilon(f.Float("eps"))
				if !affine {
					b = b.NoAffine()
				}
				return b.Done()
			}
			store := model.NewStore()
			layer := store.Scope("/bn")
			mustCreate := func(name string, v torchfix.Tensor) {
				if _, err := layer.CreateVariable(name, v.ToTensor()); err != nil {
					t.Fatal(err)
				}
			}
			mustCreate("running_mean", f.Get("running_mean_before"))
			mustCreate("running_var", f.Get("running_var_before"))
			var paramNames []string
			if affine {
				mustCreate("scale", f.Get("weight"))
				mustCreate("offset", f.Get("bias"))
				paramNames = []string{"scale", "offset"}
			}

			// Training: batch statistics, gradients through them, running statistics updated.
			train := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, x, upstream *graph.Node) []*graph.Node {
				store.SetTraining(x.Graph(), true)
				y := build(scope.In("bn"), x)
				loss := graph.ReduceAllSum(graph.Mul(y, upstream))
				wrt := []*graph.Node{x}
				for _, n := range paramNames {
					wrt = append(wrt, store.GetVariable("/bn/"+n).NodeValue(x.Graph()))
				}
				return append([]*graph.Node{y}, graph.Gradient(loss, wrt...)...)
			})
			out := train.MustExec(act(f.Get("x")).ToTensor(), act(f.Get("upstream")).ToTensor())
			compare(t, "y (train)", out[0], act(f.Get("y")))
			compare(t, "grad_x", out[1], act(f.Get("grad_x")))
			if affine {
				compare(t, "grad_scale", out[2], f.Get("grad_weight"))
				compare(t, "grad_offset", out[3], f.Get("grad_bias"))
			}
			compare(t, "running_mean", store.GetVariable("/bn/running_mean").MustValue(), f.Get("running_mean"))
			compare(t, "running_var", store.GetVariable("/bn/running_var").MustValue(), f.Get("running_var"))

			// Evaluation: running statistics.
			eval := model.MustNewExec(backend.MustNew(), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
				return build(scope.In("bn"), x)
			})
			compare(t, "y (eval)", eval.MustExec(act(f.Get("x_eval")).ToTensor())[0], act(f.Get("y_eval")))
		})
	}
}
