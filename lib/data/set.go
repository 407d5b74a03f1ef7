package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Split selects the training or the test part of a dataset.
type Split int

const (
	// Train is the training split (MNIST: 60000 images; CIFAR-10: 50000; USPS: 7291).
	Train Split = iota
	// Test is the test split (MNIST: 10000 images; CIFAR-10: 10000; USPS: 2007).
	Test
)

// String returns "train" or "test".
func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Test:
		return "test"
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

// Range is the interval that Float32 and the Batcher map pixel values 0..255 onto.
type Range int

const (
	// RangeZeroOne maps a pixel p to p/255, in [0, 1] (torchvision's ToTensor).
	RangeZeroOne Range = iota
	// RangeMinusOneOne maps a pixel p to p/127.5 - 1, in [-1, 1] (ToTensor then
	// Normalize(0.5, 0.5): the range of a tanh generator's output).
	RangeMinusOneOne
)

// Set is a set of labelled images held in memory as bytes.
type Set struct {
	// Name is the dataset's name ("mnist", "fashion", "cifar10", "usps").
	Name string
	// Split is the part of the dataset the images come from.
	Split Split
	// Source says which files the images came from (canonical download or npm fallback).
	Source string
	// Images holds N*Height*Width*Channels pixels 0..255, image after image, each in
	// height-width-channel order (NHWC).
	Images []uint8
	// Labels holds N class indices.
	Labels []uint8
	// N is the number of images.
	N int
	// Height, Width and Channels give each image's shape (MNIST: 28, 28, 1; CIFAR-10: 32, 32, 3).
	Height, Width, Channels int
	// ClassNames names the classes by label ("0".."9" for digits, "airplane"... for CIFAR-10).
	ClassNames []string
}

// ImageSize returns the number of values in one image: Height*Width*Channels.
func (s *Set) ImageSize() int { return s.Height * s.Width * s.Channels }

// Image returns the pixels of image i (HWC order). The slice aliases the Set's memory.
func (s *Set) Image(i int) []uint8 {
	size := s.ImageSize()
	return s.Images[i*size : (i+1)*size : (i+1)*size]
}

// scale returns the multiplier and offset that map a byte to the range r.
func (r Range) scale() (mul, add float32) {
	if r == RangeMinusOneOne {
		return 1 / 127.5, -1
	}
	return 1.0 / 255, 0
}

// Float32 returns all pixels as float32 in the range r, in the same NHWC order as Images.
func (s *Set) Float32(r Range) []float32 {
	out := make([]float32, len(s.Images))
	mul, add := r.scale()
	for i, p := range s.Images {
		out[i] = float32(p)*mul + add
	}
	return out
}

// withImages returns an empty copy of s's metadata sized for n images.
func (s *Set) withImages(n int) *Set {
	return &Set{
		Name: s.Name, Split: s.Split, Source: s.Source, N: n,
		Images: make([]uint8, 0, n*s.ImageSize()), Labels: make([]uint8, 0, n),
		Height: s.Height, Width: s.Width, Channels: s.Channels,
		ClassNames: append([]string(nil), s.ClassNames...),
	}
}

// Subset returns a new Set with the images at the given indices, in that order (indices may
// repeat). It copies the pixels.
func (s *Set) Subset(indices []int) *Set {
	out := s.withImages(len(indices))
	for _, i := range indices {
		out.Images = append(out.Images, s.Image(i)...)
		out.Labels = append(out.Labels, s.Labels[i])
	}
	return out
}

// Classes returns a new Set with only the images whose label is one of classes, in their
// original order and with their original labels (MNIST 5 vs 7: s.Classes(5, 7); use Relabel to
// make them 0 and 1).
func (s *Set) Classes(classes ...int) *Set {
	keep := map[uint8]bool{}
	for _, c := range classes {
		if c >= 0 && c < 256 {
			keep[uint8(c)] = true
		}
	}
	var indices []int
	for i, label := range s.Labels {
		if keep[label] {
			indices = append(indices, i)
		}
	}
	return s.Subset(indices)
}

// Relabel returns a copy of s whose labels are mapped through m (for example {5: 0, 7: 1} after
// Classes(5, 7)); labels missing from m stay as they are. ClassNames follow the labels: a new
// label is named after the old class(es) mapped onto it ("5", or "0+5" when two meet).
func (s *Set) Relabel(m map[uint8]uint8) *Set {
	out := s.withImages(s.N)
	out.Images = append(out.Images, s.Images...)
	present := [256]bool{}
	for _, label := range s.Labels {
		present[label] = true
		if mapped, ok := m[label]; ok {
			label = mapped
		}
		out.Labels = append(out.Labels, label)
	}
	if len(s.ClassNames) == 0 {
		return out
	}
	sources := map[int][]string{}
	maxLabel := -1
	for old := range 256 {
		if !present[old] {
			continue
		}
		label := old
		if mapped, ok := m[uint8(old)]; ok {
			label = int(mapped)
		}
		name := fmt.Sprint(old)
		if old < len(s.ClassNames) {
			name = s.ClassNames[old]
		}
		sources[label] = append(sources[label], name)
		maxLabel = max(maxLabel, label)
	}
	out.ClassNames = make([]string, maxLabel+1)
	for label, names := range sources {
		out.ClassNames[label] = strings.Join(names, "+")
	}
	return out
}

// ClassCounts returns how many images carry each label 0..numClasses-1. Labels at or above
// numClasses are not counted.
func (s *Set) ClassCounts(numClasses int) []int {
	counts := make([]int, numClasses)
	for _, label := range s.Labels {
		if int(label) < numClasses {
			counts[label]++
		}
	}
	return counts
}

// permutation returns a permutation of 0..n-1 drawn from a PCG generator seeded with
// (seed, stream): the same arguments give the same permutation on every machine.
func permutation(n int, seed int64, stream uint64) []int {
	rng := rand.New(rand.NewPCG(uint64(seed), stream))
	return rng.Perm(n)
}

// Shuffled returns a copy of s with its images in an order drawn from seed.
func (s *Set) Shuffled(seed int64) *Set {
	return s.Subset(permutation(s.N, seed, 0))
}

// Resize returns a copy of s with every image resized to height x width by bilinear
// interpolation with half-pixel centres (PyTorch's interpolate(mode="bilinear",
// align_corners=False), PIL's bilinear when enlarging): output pixel (y, x) samples the input at
// ((y+0.5)*H/height - 0.5, (x+0.5)*W/width - 0.5), clamped to the image, and rounds to the nearest
// byte. It does not low-pass filter, so shrinking by more than 2x aliases. Used for 64x64 MNIST
// (PyTorch DCGAN) and USPS 16x16 -> 28x28.
func (s *Set) Resize(height, width int) *Set {
	out := s.withImages(s.N)
	out.Height, out.Width = height, width
	out.Images = make([]uint8, s.N*height*width*s.Channels)
	type tap struct {
		low, high int
		frac      float64
	}
	taps := func(outSize, inSize int) []tap {
		result := make([]tap, outSize)
		ratio := float64(inSize) / float64(outSize)
		for o := range result {
			src := (float64(o)+0.5)*ratio - 0.5
			src = max(0, min(float64(inSize-1), src))
			low := int(src)
			high := min(low+1, inSize-1)
			result[o] = tap{low, high, src - float64(low)}
		}
		return result
	}
	rows, cols := taps(height, s.Height), taps(width, s.Width)
	channels := s.Channels
	for i := range s.N {
		in := s.Image(i)
		dst := out.Images[i*height*width*channels : (i+1)*height*width*channels]
		at := func(y, x, c int) float64 { return float64(in[(y*s.Width+x)*channels+c]) }
		for y, row := range rows {
			for x, col := range cols {
				for c := range channels {
					top := at(row.low, col.low, c)*(1-col.frac) + at(row.low, col.high, c)*col.frac
					bottom := at(row.high, col.low, c)*(1-col.frac) + at(row.high, col.high, c)*col.frac
					value := top*(1-row.frac) + bottom*row.frac
					dst[(y*width+x)*channels+c] = uint8(math.Round(value))
				}
			}
		}
	}
	out.Labels = append(out.Labels, s.Labels...)
	return out
}

// SplitLabelled draws the starting pools of an active-learning or semi-supervised run: for
// every class present in s, perClass image indices drawn from seed go to labelled (all of the
// class's images when it has fewer), and every other index goes to unlabelled. Both slices are
// sorted ascending and together hold each index 0..N-1 exactly once.
func SplitLabelled(s *Set, perClass int, seed int64) (labelled, unlabelled []int) {
	taken := map[uint8]int{}
	isLabelled := make([]bool, s.N)
	for _, i := range permutation(s.N, seed, 1) {
		if taken[s.Labels[i]] < perClass {
			taken[s.Labels[i]]++
			isLabelled[i] = true
		}
	}
	for i, chosen := range isLabelled {
		if chosen {
			labelled = append(labelled, i)
		} else {
			unlabelled = append(unlabelled, i)
		}
	}
	sort.Ints(labelled)
	return labelled, unlabelled
}
