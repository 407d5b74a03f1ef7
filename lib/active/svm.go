package active

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/advlab/advlab/lib/data"
)

// SVMConfig configures the linear SVM learner. Zero fields take the defaults.
type SVMConfig struct {
	// C is the weight of the hinge loss against the margin (default 1, scikit-learn's SVC default,
	// which the GAAL reproductions use).
	C float64
	// Tolerance stops the solver when the largest violation of the optimality conditions (the
	// spread of the projected gradient) is below it (default 1e-3).
	Tolerance float64
	// MaxEpochs bounds the passes over the training set (default 1000).
	MaxEpochs int
}

func (c SVMConfig) withDefaults() SVMConfig {
	if c.C == 0 {
		c.C = 1
	}
	if c.Tolerance == 0 {
		c.Tolerance = 1e-3
	}
	if c.MaxEpochs == 0 {
		c.MaxEpochs = 1000
	}
	return c
}

// SVM is a linear support vector machine on raw pixels for two classes, trained with the hinge
// loss: it minimises the primal
//
//	P(w, b) = ½‖w‖² + ½b² + C·Σ_i max(0, 1 − y_i·(wᵀx_i + b)),   y_i = +1 for label 1, −1 for label 0
//
// by dual coordinate descent (Hsieh et al. 2008, "A dual coordinate descent method for large-scale
// linear SVM", Algorithm 1; LIBLINEAR's L1-loss solver), which reaches the exact optimum rather
// than a stochastic approximation of it. The bias is learned as the weight of a constant feature 1,
// hence the ½b² (as LIBLINEAR; it differs from scikit-learn's SVC only by that small penalty on b).
// The decision function is f(x) = wᵀx + b, the predicted label 1 when f(x) > 0.
type SVM struct {
	cfg SVMConfig
	w   []float64
	b   float64
	// epochs and violation report the last Fit's convergence.
	epochs    int
	violation float64
}

// NewSVM returns an untrained linear SVM.
func NewSVM(cfg SVMConfig) *SVM { return &SVM{cfg: cfg.withDefaults()} }

// Name returns "svm".
func (s *SVM) Name() string { return "svm" }

// NumClasses is 2.
func (s *SVM) NumClasses() int { return 2 }

// Fit trains the SVM from scratch on train (labels 0 and 1, pixels flattened); seed orders the
// coordinate sweeps. It fails when train holds one class only or a label other than 0 and 1.
func (s *SVM) Fit(ctx context.Context, train data.Floats, seed uint64) error {
	n := train.N
	if n == 0 {
		return fmt.Errorf("active: svm: no training examples")
	}
	d := len(train.Values) / n
	y := make([]float64, n)
	var seen [2]bool
	for i, label := range train.Labels {
		if label != 0 && label != 1 {
			return fmt.Errorf("active: svm: label %d, the linear SVM is binary (labels 0 and 1); use the cnn learner for more classes", label)
		}
		seen[label] = true
		y[i] = float64(2*label - 1)
	}
	if !seen[0] || !seen[1] {
		return fmt.Errorf("active: svm: the %d training examples are all of one class", n)
	}
	x := func(i int) []float32 { return train.Values[i*d : (i+1)*d] }
	// Q_ii = x_iᵀx_i + 1 (the constant bias feature).
	diag := make([]float64, n)
	for i := range n {
		sum := 1.0
		for _, v := range x(i) {
			sum += float64(v) * float64(v)
		}
		diag[i] = sum
	}
	w := make([]float64, d)
	b := 0.0
	alpha := make([]float64, n)
	rng := rand.New(rand.NewPCG(seed, 0x5f3))
	c := s.cfg.C
	epoch := 0
	violation := math.Inf(1)
	for ; epoch < s.cfg.MaxEpochs; epoch++ {
		if epoch%50 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		maxPG, minPG := math.Inf(-1), math.Inf(1)
		for _, i := range rng.Perm(n) {
			xi := x(i)
			f := b
			for j, v := range xi {
				f += w[j] * float64(v)
			}
			grad := y[i]*f - 1 // ∂D/∂α_i of the dual D(α) = ½αᵀQα − Σα
			pg := grad
			switch {
			case alpha[i] == 0:
				pg = min(grad, 0)
			case alpha[i] == c:
				pg = max(grad, 0)
			}
			maxPG, minPG = max(maxPG, pg), min(minPG, pg)
			if pg == 0 {
				continue
			}
			old := alpha[i]
			alpha[i] = min(max(old-grad/diag[i], 0), c)
			delta := (alpha[i] - old) * y[i]
			for j, v := range xi {
				w[j] += delta * float64(v)
			}
			b += delta
		}
		violation = maxPG - minPG
		if violation < s.cfg.Tolerance {
			epoch++
			break
		}
	}
	s.w, s.b, s.epochs, s.violation = w, b, epoch, violation
	return nil
}

// Hyperplane returns w (one weight per pixel) and b of the decision function f(x) = wᵀx + b.
// It returns nil before Fit.
func (s *SVM) Hyperplane() (w []float32, b float64) {
	if s.w == nil {
		return nil, 0
	}
	w = make([]float32, len(s.w))
	for j, v := range s.w {
		w[j] = float32(v)
	}
	return w, s.b
}

// Decision returns f(x) = wᵀx + b for each of the n images ([n, H, W, C] flat, in [-1, 1]).
func (s *SVM) Decision(images []float32, n int) ([]float64, error) {
	if s.w == nil {
		return nil, fmt.Errorf("active: svm: Decision before Fit")
	}
	d := len(s.w)
	if len(images) != n*d {
		return nil, fmt.Errorf("active: svm: got %d values for %d images, want %d per image", len(images), n, d)
	}
	out := make([]float64, n)
	for i := range out {
		f := s.b
		for j, v := range images[i*d : (i+1)*d] {
			f += s.w[j] * float64(v)
		}
		out[i] = f
	}
	return out, nil
}

// Predict returns [n, 2] probabilities (p(0), p(1)) per image, with p(1) = σ(2·f(x)): a monotone
// squashing of the SVM's decision value, 0.5 on the hyperplane and about 0.88 on the margin
// (f = ±1), not a calibrated probability (an SVM has none; Platt scaling would need held-out
// labels). Uncertainty sampling on it ranks images exactly as svm-active does.
func (s *SVM) Predict(images []float32, n int) ([]float32, error) {
	f, err := s.Decision(images, n)
	if err != nil {
		return nil, err
	}
	probs := make([]float32, 2*n)
	for i, v := range f {
		p1 := 1 / (1 + math.Exp(-2*v))
		probs[2*i], probs[2*i+1] = float32(1-p1), float32(p1)
	}
	return probs, nil
}

// Converged reports the last Fit's number of epochs and its final optimality violation.
func (s *SVM) Converged() (epochs int, violation float64) { return s.epochs, s.violation }

// Objective returns the primal objective P(w, b) of the trained SVM on train (see SVM).
func (s *SVM) Objective(train data.Floats) (float64, error) {
	f, err := s.Decision(train.Values, train.N)
	if err != nil {
		return 0, err
	}
	p := 0.5 * s.b * s.b
	for _, v := range s.w {
		p += 0.5 * v * v
	}
	for i, v := range f {
		y := float64(2*train.Labels[i] - 1)
		p += s.cfg.C * max(0, 1-y*v)
	}
	return p, nil
}
