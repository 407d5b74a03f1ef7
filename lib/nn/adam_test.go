package nn_test

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/advlab/advlab/internal/testenv"
	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/nn"
)

// TestReferenceAdamByHand runs four steps of nn.ReferenceAdam on L = Σ c_i·θ_i²/2 and checks every
// value against nn.adam_updates computed here in float64, with ε inside the square root. The
// gradients span 1e-7 to 1, so the ε floor matters: at 1e-7 the step is lr·g/√(g²+ε) ≈ 1e-3·lr, where
// an Adam with ε outside the root moves by about lr. Changing the learning-rate variable between
// steps must take effect (as GoMLX's Adam allows), and the state must live under ReferenceAdamScope.
func TestReferenceAdamByHand(t *testing.T) {
	const lr, beta1, beta2, eps = 0.003, 0.5, 0.999, 1e-8
	c := []float64{1, 1e-3, 1e-7, -2}
	theta := []float64{1, 1, 1, 0.5}
	store := model.NewStore()
	scope := store.Scope("/net")
	exec := model.MustNewExec(backend.MustNew(), store, func(_ *model.Scope, coeffs *graph.Node) *graph.Node {
		g := coeffs.Graph()
		v := scope.WithInitializer(func(g *graph.Graph, s shapes.Shape) *graph.Node {
			return graph.Const(g, []float32{1, 1, 1, 0.5})
		}).VariableWithShape("theta", coeffs.Shape())
		x := v.NodeValue(g)
		loss := graph.ReduceAllSum(graph.MulScalar(graph.Mul(coeffs, graph.Square(x)), 0.5))
		nn.ReferenceAdam(lr, beta1, beta2, eps).UpdateGraph(scope, g, loss)
		return loss
	})
	coeffs := make([]float32, len(c))
	for i := range c {
		coeffs[i] = float32(c[i])
	}
	m1, m2 := make([]float64, len(c)), make([]float64, len(c))
	rate := lr
	for step := 1; step <= 4; step++ {
		if step == 3 { // a new rate between steps, as trainloop.SetLearningRate sets it on resume
			rate = lr / 10
			lrVar := scope.At(optimizer.Scope).GetVariable(optimizer.ParamLearningRate)
			if lrVar == nil {
				t.Fatal("no learning-rate variable under the scope")
			}
			lrVar.MustSetValue(tensors.FromValue(float32(rate)))
		}
		exec.MustExec(coeffs)
		for i := range theta {
			g := c[i] * theta[i]
			m1[i] = beta1*m1[i] + (1-beta1)*g
			m2[i] = beta2*m2[i] + (1-beta2)*g*g
			mHat := m1[i] / (1 - math.Pow(beta1, float64(step)))
			vHat := m2[i] / (1 - math.Pow(beta2, float64(step)))
			theta[i] -= rate * mHat / math.Sqrt(vHat+eps)
		}
		got := testenv.Variables(store)["/net/theta"]
		for i := range theta {
			if d := math.Abs(float64(got[i]) - theta[i]); d > 1e-6*(1+math.Abs(theta[i])) {
				t.Fatalf("step %d: theta[%d] = %.9g, want %.9g", step, i, got[i], theta[i])
			}
		}
	}
	// The parameter with gradient ~1e-7 moved about 1e-3·lr per step, not lr.
	if moved := 1 - theta[2]; moved > 4*lr*1e-2 || moved <= 0 {
		t.Errorf("theta[2] moved %g in 4 steps; want about 4·lr·1e-3 (ε inside the root)", moved)
	}
	var state []string
	for path := range testenv.Variables(store) {
		if strings.HasPrefix(path, nn.ReferenceAdamScope+"/") {
			state = append(state, path)
		}
	}
	if len(state) != 3 { // step, theta_m1, theta_m2
		t.Errorf("optimizer state %v, want the step counter and two moments under %s", state, nn.ReferenceAdamScope)
	}
}
