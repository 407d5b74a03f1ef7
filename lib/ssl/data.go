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

// Floats is lib/data's in-memory set of float32 images (with labels when Labels is set).
type Floats = data.Floats

// SplitLabelled draws the labelled images of a semi-supervised run from a training set: perClass images of
// every class (lib/data's SplitLabelled with seed; 10 per class is the reference's --count 10,
// 100 labels on MNIST), and, as the unlabelled set, every image of train, the labelled ones
// included, as the reference code does. Only the labelled view's Label is ever read by the
// engine.
func SplitLabelled(train *data.Set, perClass int, seed int64, r data.Range) (labelled, unlabelled data.Images, err error) {
	if train == nil || train.N == 0 {
		return data.Images{}, data.Images{}, fmt.Errorf("ssl: no training images to split")
	}
	if perClass <= 0 {
		return data.Images{}, data.Images{}, fmt.Errorf("ssl: %d labelled images per class, want >= 1", perClass)
	}
	chosen, _ := data.SplitLabelled(train, perClass, seed)
	return data.Images{Set: train, Indices: chosen, Range: r}, data.Images{Set: train, Range: r}, nil
}

// All returns a labelled view of every image of s (a test set for Evaluate).
func All(s *data.Set, r data.Range) data.Images { return data.Images{Set: s, Range: r} }
