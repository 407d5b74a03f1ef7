package data

import (
	"math"
	"reflect"
	"slices"
	"testing"
)

// digitSet returns a set of n 2x3x1 images: image i has label i%10 and pixels i+p (mod 256).
func digitSet(n int) *Set {
	s := &Set{Name: "test", N: n, Height: 2, Width: 3, Channels: 1, ClassNames: digitNames}
	for i := range n {
		s.Labels = append(s.Labels, uint8(i%10))
		for p := range 6 {
			s.Images = append(s.Images, uint8((i+p)%256))
		}
	}
	return s
}

func TestFloat32Ranges(t *testing.T) {
	s := &Set{N: 1, Height: 1, Width: 3, Channels: 1, Images: []uint8{0, 51, 255}, Labels: []uint8{0}}
	for _, tc := range []struct {
		r    Range
		want []float32
	}{
		{RangeZeroOne, []float32{0, 0.2, 1}},
		{RangeMinusOneOne, []float32{-1, -0.6, 1}},
	} {
		got := s.Float32(tc.r)
		for i := range got {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-6 {
				t.Errorf("range %d: %v, want %v", tc.r, got, tc.want)
				break
			}
		}
	}
}

func TestSubsetClassesRelabelCounts(t *testing.T) {
	s := digitSet(100)
	if got := s.ClassCounts(10); !slices.Equal(got, []int{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}) {
		t.Fatalf("counts %v, want 10 per class", got)
	}
	sub := s.Subset([]int{3, 3, 0})
	if sub.N != 3 || !slices.Equal(sub.Labels, []uint8{3, 3, 0}) || !slices.Equal(sub.Image(1), s.Image(3)) {
		t.Errorf("subset: N=%d labels %v", sub.N, sub.Labels)
	}
	sub.Images[0] = 99
	if s.Images[3*6] == 99 {
		t.Error("Subset shares pixels with its source")
	}

	fiveSeven := s.Classes(5, 7)
	if fiveSeven.N != 20 || len(fiveSeven.Images) != 120 {
		t.Fatalf("5 vs 7: N=%d with %d pixels, want 20 and 120", fiveSeven.N, len(fiveSeven.Images))
	}
	if counts := fiveSeven.ClassCounts(10); counts[5] != 10 || counts[7] != 10 || counts[0] != 0 {
		t.Errorf("5 vs 7 counts %v", counts)
	}
	if fiveSeven.Labels[0] != 5 || fiveSeven.Labels[1] != 7 || !slices.Equal(fiveSeven.Image(1), s.Image(7)) {
		t.Errorf("5 vs 7 keeps order and labels: %v", fiveSeven.Labels[:4])
	}
	binary := fiveSeven.Relabel(map[uint8]uint8{5: 0, 7: 1})
	if counts := binary.ClassCounts(2); !slices.Equal(counts, []int{10, 10}) {
		t.Errorf("relabelled counts %v, want [10 10]", counts)
	}
	if !reflect.DeepEqual(binary.ClassNames, []string{"5", "7"}) {
		t.Errorf("relabelled class names %v, want [5 7]", binary.ClassNames)
	}
	if fiveSeven.Labels[0] != 5 {
		t.Error("Relabel changed its source")
	}
	if empty := s.Classes(); empty.N != 0 || len(empty.Images) != 0 {
		t.Errorf("no classes: N=%d", empty.N)
	}
}

func TestShuffledIsDeterministicPermutation(t *testing.T) {
	s := digitSet(50)
	a, b, c := s.Shuffled(7), s.Shuffled(7), s.Shuffled(8)
	if !slices.Equal(a.Labels, b.Labels) || !slices.Equal(a.Images, b.Images) {
		t.Error("same seed, different orders")
	}
	if slices.Equal(a.Images, c.Images) {
		t.Error("seeds 7 and 8 gave the same order")
	}
	if !slices.Equal(a.ClassCounts(10), s.ClassCounts(10)) {
		t.Error("shuffle changed the class counts")
	}
	// Every image keeps its label: image with first pixel v came from index v, label v%10.
	for i := range a.N {
		if a.Labels[i] != a.Image(i)[0]%10 {
			t.Fatalf("image %d lost its label", i)
		}
	}
}

func TestBatcher(t *testing.T) {
	s := digitSet(10)
	b := NewBatcher(s, 4, 3, RangeZeroOne)
	if b.BatchesPerEpoch() != 2 {
		t.Fatalf("batches per epoch %d, want 2 (10/4, partial dropped)", b.BatchesPerEpoch())
	}
	var epoch0 []int32
	for k := range 2 {
		images, labels, done := b.Next()
		if len(images) != 4*6 || len(labels) != 4 {
			t.Fatalf("batch %d: %d values, %d labels; want 24, 4", k, len(images), len(labels))
		}
		if done != (k == 1) {
			t.Errorf("batch %d: epochDone %v", k, done)
		}
		for j, label := range labels {
			// Pixel 0 of image i is i/255 and its label i%10.
			if index := int(math.Round(float64(images[j*6]) * 255)); int32(index%10) != label {
				t.Errorf("batch %d item %d: image %d carries label %d", k, j, index, label)
			}
		}
		epoch0 = append(epoch0, labels...)
	}
	if b.Epoch() != 1 || len(epoch0) != 8 || len(uniq(epoch0)) != 8 {
		t.Errorf("epoch 0 labels %v (epoch now %d): want 8 distinct", epoch0, b.Epoch())
	}
	_, epoch1, _ := b.Next()
	// Same seed, same sequence; epochs differ.
	again := NewBatcher(s, 4, 3, RangeZeroOne)
	_, first, _ := again.Next()
	if !slices.Equal(first, epoch0[:4]) {
		t.Errorf("same seed: first batch %v, want %v", first, epoch0[:4])
	}
	if slices.Equal(epoch1, epoch0[:4]) {
		t.Error("epoch 1 repeats epoch 0's order")
	}
	other := NewBatcher(s, 4, 4, RangeZeroOne)
	if _, labels, _ := other.Next(); slices.Equal(labels, first) {
		t.Error("seeds 3 and 4 gave the same first batch")
	}

	partial := NewBatcher(s, 4, 3, RangeMinusOneOne)
	partial.KeepPartial = true
	sizes := []int{}
	for {
		images, labels, done := partial.Next()
		sizes = append(sizes, len(labels))
		if images[0] < -1 || images[0] > 1 {
			t.Errorf("value %v outside [-1, 1]", images[0])
		}
		if done {
			break
		}
	}
	if !slices.Equal(sizes, []int{4, 4, 2}) {
		t.Errorf("KeepPartial batch sizes %v, want [4 4 2]", sizes)
	}
	small := NewBatcher(digitSet(3), 8, 1, RangeZeroOne)
	if _, labels, done := small.Next(); len(labels) != 3 || !done {
		t.Errorf("set smaller than a batch: %d labels, done %v; want 3, true", len(labels), done)
	}
}

func uniq(values []int32) map[int32]bool {
	seen := map[int32]bool{}
	for _, v := range values {
		seen[v] = true
	}
	return seen
}

func TestResizeBilinear(t *testing.T) {
	// A 1x2 image [0, 255] enlarged to 1x4 with half-pixel centres samples x = -0.25 (clamped
	// to 0), 0.25, 0.75, 1.25 (clamped to 1): 0, 63.75, 191.25, 255.
	s := &Set{N: 1, Height: 1, Width: 2, Channels: 1, Images: []uint8{0, 255}, Labels: []uint8{3}}
	got := s.Resize(1, 4)
	if !slices.Equal(got.Images, []uint8{0, 64, 191, 255}) || got.Width != 4 || got.Labels[0] != 3 {
		t.Errorf("resized %v (width %d), want [0 64 191 255]", got.Images, got.Width)
	}
	// Resizing to the same size is the identity; a constant image stays constant; channels
	// stay separate.
	rgb := &Set{N: 2, Height: 2, Width: 2, Channels: 3, Labels: []uint8{0, 1}}
	for range 2 * 4 {
		rgb.Images = append(rgb.Images, 10, 20, 30)
	}
	if same := rgb.Resize(2, 2); !slices.Equal(same.Images, rgb.Images) {
		t.Error("same-size resize changed pixels")
	}
	big := rgb.Resize(5, 7)
	if big.N != 2 || len(big.Images) != 2*5*7*3 {
		t.Fatalf("resized to %d values, want %d", len(big.Images), 2*5*7*3)
	}
	for i := 0; i < len(big.Images); i += 3 {
		if big.Images[i] != 10 || big.Images[i+1] != 20 || big.Images[i+2] != 30 {
			t.Fatalf("pixel %d = %v, want [10 20 30]", i/3, big.Images[i:i+3])
		}
	}
	// USPS 16x16 -> 28x28 and MNIST 28x28 -> 64x64 keep the mean brightness of a ramp.
	ramp := &Set{N: 1, Height: 16, Width: 16, Channels: 1, Labels: []uint8{0}}
	for y := range 16 {
		for x := range 16 {
			ramp.Images = append(ramp.Images, uint8(16*x+y))
		}
	}
	up := ramp.Resize(28, 28)
	if mean(up.Images)-mean(ramp.Images) > 1 || mean(ramp.Images)-mean(up.Images) > 1 {
		t.Errorf("mean %v after resize, %v before", mean(up.Images), mean(ramp.Images))
	}
}

func mean(pixels []uint8) float64 {
	total := 0.0
	for _, p := range pixels {
		total += float64(p)
	}
	return total / float64(len(pixels))
}

func TestSplitLabelled(t *testing.T) {
	s := digitSet(200).Classes(5, 7)
	labelled, unlabelled := SplitLabelled(s, 3, 11)
	if len(labelled) != 6 || len(unlabelled) != s.N-6 {
		t.Fatalf("%d labelled, %d unlabelled; want 6 and %d", len(labelled), len(unlabelled), s.N-6)
	}
	if counts := s.Subset(labelled).ClassCounts(10); counts[5] != 3 || counts[7] != 3 {
		t.Errorf("labelled per class %v, want 3 fives and 3 sevens", counts)
	}
	seen := map[int]bool{}
	for _, i := range append(append([]int{}, labelled...), unlabelled...) {
		if seen[i] {
			t.Fatalf("index %d in both pools", i)
		}
		seen[i] = true
	}
	if len(seen) != s.N || !slices.IsSorted(labelled) || !slices.IsSorted(unlabelled) {
		t.Errorf("pools cover %d of %d indices (sorted: %v, %v)", len(seen), s.N, slices.IsSorted(labelled), slices.IsSorted(unlabelled))
	}
	again, _ := SplitLabelled(s, 3, 11)
	other, _ := SplitLabelled(s, 3, 12)
	if !slices.Equal(again, labelled) || slices.Equal(other, labelled) {
		t.Errorf("seed 11 twice: %v and %v; seed 12: %v", labelled, again, other)
	}
	all, none := SplitLabelled(s, 1000, 1)
	if len(all) != s.N || len(none) != 0 {
		t.Errorf("perClass above class sizes: %d labelled, %d unlabelled", len(all), len(none))
	}
}
