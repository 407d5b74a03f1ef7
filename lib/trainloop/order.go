// Package trainloop is what advlab's training engines (lib/gan, lib/vae, lib/ssl) share around
// their step: the batch order, the host-side state a checkpoint carries (step count, batch order,
// host RNG, kind and configuration of the run), and the loop that steps, reports snapshots, saves
// checkpoints and keeps the trained state when it is interrupted.
//
// An engine keeps a State, draws its batches from State.Order, and its Train method is one call of
// Run:
//
//	for each step (until Steps, or until Epochs are complete):
//	    stop if the context is cancelled                      (the state is kept and saved)
//	    Step; OnStep(metrics)
//	    EndEpoch and a snapshot when the step completed an epoch
//	    a snapshot every SnapshotEvery steps, a checkpoint every CheckpointEvery steps
//	a last snapshot at the end; a checkpoint on every exit
package trainloop

import (
	"fmt"
	"math/rand/v2"
)

// Order deals the batches of a training run, epoch after epoch, from one or more sets of examples
// ("streams": e.g. the unlabelled images twice and the labelled ones). Epoch e draws, from one
// generator seeded with (seed, e+1), a permutation of every stream in turn; a stream smaller than
// the epoch is tiled with fresh permutations until it covers it. An epoch is one pass over the
// first stream with a final partial batch dropped (PyTorch's drop_last), and at least one batch.
// The position (epoch, offset) alone restores the order exactly.
type Order struct {
	seed      uint64
	batchSize int
	sizes     []int
	perEpoch  int     // batches per epoch.
	epoch     int     // completed epochs.
	offset    int     // batches dealt in the current epoch.
	perms     [][]int // the current epoch's permutations (nil until its first batch).
}

// NewOrder returns the order of batches of batchSize examples from streams of the given sizes
// (at least one), drawn from seed. It panics when batchSize or a size is not positive.
func NewOrder(seed uint64, batchSize int, sizes ...int) *Order {
	if batchSize <= 0 || len(sizes) == 0 {
		panic("trainloop.NewOrder: want a positive batch size and at least one stream")
	}
	for _, n := range sizes {
		if n <= 0 {
			panic("trainloop.NewOrder: empty stream")
		}
	}
	return &Order{seed: seed, batchSize: batchSize, sizes: sizes, perEpoch: max(1, sizes[0]/batchSize)}
}

// BatchesPerEpoch is the number of batches in one epoch: the first stream's size divided by the
// batch size, at least 1.
func (o *Order) BatchesPerEpoch() int { return o.perEpoch }

// Epoch is the number of completed epochs.
func (o *Order) Epoch() int { return o.epoch }

// Offset is the number of examples of the first stream dealt in the current epoch (batches dealt
// times the batch size).
func (o *Order) Offset() int { return o.offset * o.batchSize }

// Next returns the indices of the next batch in every stream, in the order of NewOrder's sizes,
// and moves on; after the last batch of an epoch, Epoch counts it complete.
func (o *Order) Next() [][]int {
	if o.perms == nil {
		rng := rand.New(rand.NewPCG(o.seed, uint64(o.epoch)+1))
		need := o.perEpoch * o.batchSize
		o.perms = make([][]int, len(o.sizes))
		for i, n := range o.sizes {
			for len(o.perms[i]) < need {
				o.perms[i] = append(o.perms[i], rng.Perm(n)...)
			}
		}
	}
	from := o.offset * o.batchSize
	batch := make([][]int, len(o.perms))
	for i, perm := range o.perms {
		batch[i] = perm[from : from+o.batchSize]
	}
	o.offset++
	if o.offset == o.perEpoch {
		o.epoch, o.offset, o.perms = o.epoch+1, 0, nil
	}
	return batch
}

// Restore moves the order to a position saved from Epoch and Offset. An offset at the end of an
// epoch counts the epoch complete. A position no run of this order can reach (negative, an offset
// that is not a whole number of batches or lies past the epoch's end) is an error and changes nothing.
func (o *Order) Restore(epoch, offset int) error {
	if epoch < 0 || offset < 0 || offset%o.batchSize != 0 || offset/o.batchSize > o.perEpoch {
		return fmt.Errorf("batch order position epoch %d, offset %d: want epoch >= 0 and an offset of 0 to %d in "+
			"steps of the batch size %d", epoch, offset, o.perEpoch*o.batchSize, o.batchSize)
	}
	o.epoch, o.offset, o.perms = epoch, offset/o.batchSize, nil
	if o.offset >= o.perEpoch {
		o.epoch, o.offset = o.epoch+1, 0
	}
	return nil
}
