package ssl

import (
	"fmt"

	"github.com/advlab/advlab/lib/data"
)

// Images is a set of images of one shape, gathered into float32 NHWC batches.
type Images interface {
	// Len is the number of images.
	Len() int
	// Shape is the height, width and channels of one image.
	Shape() (height, width, channels int)
	// Gather writes the images at indices into dst (len(indices)·h·w·c floats).
	Gather(indices []int, dst []float32)
}

// Labelled is a set of images with their classes.
type Labelled interface {
	Images
	// Label is the class of image i, in [0, NumClasses).
	Label(i int) int
}

// Floats is an in-memory set of NHWC float32 images, with labels when Labels is set.
type Floats struct {
	// Values holds N·Height·Width·Channels values, NHWC.
	Values []float32
	// Labels holds the N classes (nil for unlabelled images).
	Labels []int
	// N, Height, Width, Channels give the shape.
	N, Height, Width, Channels int
}

// Len implements Images.
func (f Floats) Len() int { return f.N }

// Shape implements Images.
func (f Floats) Shape() (int, int, int) { return f.Height, f.Width, f.Channels }

// Gather implements Images.
func (f Floats) Gather(indices []int, dst []float32) {
	size := f.Height * f.Width * f.Channels
	for i, idx := range indices {
		copy(dst[i*size:(i+1)*size], f.Values[idx*size:(idx+1)*size])
	}
}

// Label implements Labelled.
func (f Floats) Label(i int) int { return f.Labels[i] }

// Pixels is a view of some images of a lib/data Set (by index), scaled to Range when gathered.
type Pixels struct {
	// Set holds the images and labels.
	Set *data.Set
	// Indices are the images of Set in this view, in order.
	Indices []int
	// Range is the interval pixels are mapped onto: data.RangeZeroOne for a sigmoid generator
	// (the reference MNIST model), data.RangeMinusOneOne for a tanh generator.
	Range data.Range
}

// Len implements Images.
func (p Pixels) Len() int { return len(p.Indices) }

// Shape implements Images.
func (p Pixels) Shape() (int, int, int) { return p.Set.Height, p.Set.Width, p.Set.Channels }

// Gather implements Images.
func (p Pixels) Gather(indices []int, dst []float32) {
	mul, add := float32(1.0/255), float32(0)
	if p.Range == data.RangeMinusOneOne {
		mul, add = 1/127.5, -1
	}
	size := p.Set.ImageSize()
	for i, idx := range indices {
		out := dst[i*size : (i+1)*size]
		for j, v := range p.Set.Image(p.Indices[idx]) {
			out[j] = float32(v)*mul + add
		}
	}
}

// Label implements Labelled.
func (p Pixels) Label(i int) int { return int(p.Set.Labels[p.Indices[i]]) }

// SplitLabelled draws the labelled images of a semi-supervised run from a training set: perClass images of
// every class (lib/data's SplitLabelled with seed; 10 per class is the reference's --count 10,
// 100 labels on MNIST), and, as the unlabelled set, every image of train, the labelled ones
// included, as the reference code does. Only the labelled view's Label is ever read by the
// engine.
func SplitLabelled(train *data.Set, perClass int, seed int64, r data.Range) (labelled, unlabelled Pixels, err error) {
	if train == nil || train.N == 0 {
		return Pixels{}, Pixels{}, fmt.Errorf("ssl: no training images to split")
	}
	if perClass <= 0 {
		return Pixels{}, Pixels{}, fmt.Errorf("ssl: %d labelled images per class, want >= 1", perClass)
	}
	chosen, _ := data.SplitLabelled(train, perClass, seed)
	all := make([]int, train.N)
	for i := range all {
		all[i] = i
	}
	return Pixels{Set: train, Indices: chosen, Range: r}, Pixels{Set: train, Indices: all, Range: r}, nil
}

// All returns a labelled view of every image of s (a test set for Evaluate).
func All(s *data.Set, r data.Range) Pixels {
	all := make([]int, s.N)
	for i := range all {
		all[i] = i
	}
	return Pixels{Set: s, Indices: all, Range: r}
}
