package data

import "fmt"

// Batcher deals a Set out in shuffled minibatches, epoch after epoch. Epoch e visits the images
// in a permutation drawn from (seed, e), so a run repeats exactly from the same seed; by default
// the last partial batch of each epoch is dropped (PyTorch's DataLoader(drop_last=True)).
type Batcher struct {
	set       *Set
	batchSize int
	seed      int64
	scaleMul  float32
	scaleAdd  float32

	// KeepPartial, when true, makes the last batch of an epoch shorter instead of dropping it.
	// Default: false.
	KeepPartial bool

	epoch int   // current epoch, from 0
	order []int // this epoch's permutation
	next  int   // position in order of the next batch
}

// NewBatcher returns a Batcher over s that yields batchSize images per batch, scaled to r, in
// orders drawn from seed. It panics when batchSize is not positive or s is empty (a programming
// error, not a data error).
func NewBatcher(s *Set, batchSize int, seed int64, r Range) *Batcher {
	if batchSize <= 0 {
		panic(fmt.Sprintf("data.NewBatcher: batch size %d, expected > 0", batchSize))
	}
	if s == nil || s.N == 0 {
		panic("data.NewBatcher: empty set")
	}
	mul, add := r.scale()
	b := &Batcher{set: s, batchSize: batchSize, seed: seed, scaleMul: mul, scaleAdd: add}
	b.order = permutation(s.N, seed, uint64(2+b.epoch))
	return b
}

// Epoch returns the number of epochs completed so far.
func (b *Batcher) Epoch() int { return b.epoch }

// BatchesPerEpoch returns how many batches one epoch yields: N/batchSize, plus one when
// KeepPartial is set and N is not a multiple of the batch size. When N < batchSize and
// KeepPartial is false, each epoch still yields its single, short batch rather than none.
func (b *Batcher) BatchesPerEpoch() int {
	full := b.set.N / b.batchSize
	if full == 0 || (b.KeepPartial && b.set.N%b.batchSize != 0) {
		return full + 1
	}
	return full
}

// Next returns the next batch: images as float32 [batch, H, W, C] flattened (NHWC), labels as
// int32, and epochDone true when this batch is the last of its epoch (the next call starts a new
// epoch in a new order). The slices are freshly allocated for each call.
func (b *Batcher) Next() (images []float32, labels []int32, epochDone bool) {
	size := b.batchSize
	if rest := b.set.N - b.next; rest < size {
		size = rest
	}
	imageSize := b.set.ImageSize()
	images = make([]float32, 0, size*imageSize)
	labels = make([]int32, 0, size)
	for _, i := range b.order[b.next : b.next+size] {
		for _, p := range b.set.Image(i) {
			images = append(images, float32(p)*b.scaleMul+b.scaleAdd)
		}
		labels = append(labels, int32(b.set.Labels[i]))
	}
	b.next += size
	rest := b.set.N - b.next
	if rest == 0 || (rest < b.batchSize && !b.KeepPartial) {
		epochDone = true
		b.epoch++
		b.next = 0
		b.order = permutation(b.set.N, b.seed, uint64(2+b.epoch))
	}
	return images, labels, epochDone
}
