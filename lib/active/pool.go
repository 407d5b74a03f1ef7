package active

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/advlab/advlab/lib/data"
)

// PixelRange is the range every image of this package is in: pool images are mapped onto it, the
// generators produce it, the learners and the oracle's evaluator read it.
const PixelRange = data.RangeMinusOneOne

// Example is a synthesised image with the label the oracle gave it.
type Example struct {
	// Image holds Height·Width·Channels pixels (NHWC) in [-1, 1].
	Image []float32
	// Label is the task label (0..K-1) the oracle assigned.
	Label int
	// Confidence is the oracle's probability for Label (the evaluator's softmax output for the
	// class; 1 for a ground-truth label).
	Confidence float64
	// Round is the round whose query synthesised the image.
	Round int
}

// Pool is the state of an active-learning run over a set of training images: which images are
// labelled (and with which label), which are not, and the synthesised examples the oracle has
// labelled. The pool never reads the Set's labels: labels enter only through SetLabels (from the
// Oracle), so a strategy that looks at the pool cannot peek at the ground truth.
type Pool struct {
	set       *data.Set
	labels    []int // per image: its label once labelled, -1 before.
	labelled  int
	synthetic []Example
	discarded int // labels paid for synthesised queries the oracle could not label with confidence
}

// NewPool returns a pool over the images of set with nothing labelled.
func NewPool(set *data.Set) *Pool {
	labels := make([]int, set.N)
	for i := range labels {
		labels[i] = -1
	}
	return &Pool{set: set, labels: labels}
}

// Set returns the images of the pool (their Labels are the oracle's business).
func (p *Pool) Set() *data.Set { return p.set }

// Len is the number of pool images, labelled or not.
func (p *Pool) Len() int { return p.set.N }

// NumLabelled is the number of labelled pool images (synthesised examples not counted).
func (p *Pool) NumLabelled() int { return p.labelled }

// NumUnlabelled is the number of pool images still unlabelled.
func (p *Pool) NumUnlabelled() int { return p.set.N - p.labelled }

// NumLabels is the number of labels spent: labelled pool images, labelled synthesised ones, and
// the discarded queries (paid for, not used).
func (p *Pool) NumLabels() int { return p.labelled + len(p.synthetic) + p.discarded }

// Discard counts n queries whose labels were paid for but not used (Config.MinConfidence).
func (p *Pool) Discard(n int) { p.discarded += n }

// NumDiscarded is the number of discarded queries so far.
func (p *Pool) NumDiscarded() int { return p.discarded }

// IsLabelled reports whether pool image i is labelled.
func (p *Pool) IsLabelled(i int) bool { return p.labels[i] >= 0 }

// Label returns the label of pool image i, or -1 when it is unlabelled.
func (p *Pool) Label(i int) int { return p.labels[i] }

// Labelled returns the indices of the labelled pool images, ascending.
func (p *Pool) Labelled() []int {
	out := make([]int, 0, p.labelled)
	for i, label := range p.labels {
		if label >= 0 {
			out = append(out, i)
		}
	}
	return out
}

// Unlabelled returns the indices of the unlabelled pool images, ascending.
func (p *Pool) Unlabelled() []int {
	out := make([]int, 0, p.set.N-p.labelled)
	for i, label := range p.labels {
		if label < 0 {
			out = append(out, i)
		}
	}
	return out
}

// Synthetic returns the labelled synthesised examples, in the order they were added.
func (p *Pool) Synthetic() []Example { return p.synthetic }

// SetLabels labels the pool images at indices with labels. It changes nothing and returns an
// error when an index is out of range, repeated or already labelled, or a label is negative.
func (p *Pool) SetLabels(indices, labels []int) error {
	if len(indices) != len(labels) {
		return fmt.Errorf("active: %d indices and %d labels", len(indices), len(labels))
	}
	seen := make(map[int]bool, len(indices))
	for k, i := range indices {
		switch {
		case i < 0 || i >= p.set.N:
			return fmt.Errorf("active: pool index %d out of range [0, %d)", i, p.set.N)
		case seen[i]:
			return fmt.Errorf("active: pool index %d queried twice in one batch", i)
		case p.labels[i] >= 0:
			return fmt.Errorf("active: pool index %d is already labelled", i)
		case labels[k] < 0:
			return fmt.Errorf("active: label %d for pool index %d, want >= 0", labels[k], i)
		}
		seen[i] = true
	}
	for k, i := range indices {
		p.labels[i] = labels[k]
	}
	p.labelled += len(indices)
	return nil
}

// AddSynthetic adds labelled synthesised examples. Each image must have the pool images' size.
func (p *Pool) AddSynthetic(examples ...Example) error {
	size := p.set.ImageSize()
	for _, e := range examples {
		if len(e.Image) != size {
			return fmt.Errorf("active: synthesised image of %d values, want %d (%dx%dx%d)", len(e.Image), size,
				p.set.Height, p.set.Width, p.set.Channels)
		}
		if e.Label < 0 {
			return fmt.Errorf("active: synthesised example with label %d, want >= 0", e.Label)
		}
	}
	p.synthetic = append(p.synthetic, examples...)
	return nil
}

// TrainingSet returns every labelled example, pool images first (ascending index) then the
// synthesised ones, with pixels in [-1, 1]: what the learner trains on.
func (p *Pool) TrainingSet() data.Floats {
	indices := p.Labelled()
	size := p.set.ImageSize()
	n := len(indices) + len(p.synthetic)
	out := data.Floats{Values: make([]float32, n*size), Labels: make([]int, 0, n), N: n,
		Height: p.set.Height, Width: p.set.Width, Channels: p.set.Channels}
	data.Images{Set: p.set, Indices: indices, Range: PixelRange}.Gather(seq(len(indices)), out.Values)
	for _, i := range indices {
		out.Labels = append(out.Labels, p.labels[i])
	}
	for k, e := range p.synthetic {
		copy(out.Values[(len(indices)+k)*size:], e.Image)
		out.Labels = append(out.Labels, e.Label)
	}
	return out
}

// Images returns the pool images at indices with pixels in [-1, 1], [len(indices), H, W, C] flat.
func (p *Pool) Images(indices []int) []float32 {
	out := make([]float32, len(indices)*p.set.ImageSize())
	data.Images{Set: p.set, Indices: indices, Range: PixelRange}.Gather(seq(len(indices)), out)
	return out
}

// seq returns 0, 1, ..., n-1.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// InitialSet draws the starting labelled set of a run: n pool indices, ascending, drawn from rng
// so that every class of truth is represented as evenly as n allows (n/K per class, the remainder
// drawn at random from the rest). truth holds the ground-truth labels 0..K-1; reading them here
// is the one place the runner uses labels it has not paid for, as every active-learning paper's
// "random, class-balanced initial set" does.
func InitialSet(truth []uint8, numClasses, n int, rng *rand.Rand) ([]int, error) {
	if n < numClasses || n > len(truth) {
		return nil, fmt.Errorf("active: initial set of %d images, want between the number of classes (%d) and the pool size (%d)",
			n, numClasses, len(truth))
	}
	order := rng.Perm(len(truth))
	perClass := n / numClasses
	taken := make([]int, numClasses)
	chosen := make([]bool, len(truth))
	count := 0
	for _, i := range order {
		if c := int(truth[i]); c < numClasses && taken[c] < perClass {
			taken[c]++
			chosen[i] = true
			count++
		}
	}
	for c, t := range taken {
		if t < perClass {
			return nil, fmt.Errorf("active: class %d has only %d pool images, the initial set wants %d per class", c, t, perClass)
		}
	}
	for _, i := range order {
		if count == n {
			break
		}
		if !chosen[i] {
			chosen[i] = true
			count++
		}
	}
	out := make([]int, 0, n)
	for i, c := range chosen {
		if c {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out, nil
}
