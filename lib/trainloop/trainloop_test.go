package trainloop

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/checkpoint"
)

// deal returns the next n batches of o, each the concatenation of its streams' indices.
func deal(o *Order, n int) [][]int {
	var out [][]int
	for range n {
		var batch []int
		for _, stream := range o.Next() {
			batch = append(batch, stream...)
		}
		out = append(out, batch)
	}
	return out
}

func TestOrderEpochsArePermutations(t *testing.T) {
	o := NewOrder(7, 4, 10) // 2 batches per epoch, 2 images dropped.
	if o.BatchesPerEpoch() != 2 {
		t.Fatalf("BatchesPerEpoch = %d, want 2", o.BatchesPerEpoch())
	}
	var epochs [][]int
	for e := range 3 {
		if o.Epoch() != e || o.Offset() != 0 {
			t.Fatalf("before epoch %d: at (%d, %d)", e, o.Epoch(), o.Offset())
		}
		seen := slices.Concat(deal(o, 2)...)
		if len(seen) != 8 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 8 {
			t.Fatalf("epoch %d dealt %v, want 8 distinct indices", e, seen)
		}
		epochs = append(epochs, seen)
	}
	if reflect.DeepEqual(epochs[0], epochs[1]) {
		t.Errorf("epochs 0 and 1 dealt the same order %v", epochs[0])
	}
	again := NewOrder(7, 4, 10)
	if got := slices.Concat(deal(again, 6)...); !reflect.DeepEqual(got, slices.Concat(epochs...)) {
		t.Errorf("the same seed dealt %v, then %v", slices.Concat(epochs...), got)
	}
	other := NewOrder(8, 4, 10)
	if got := slices.Concat(deal(other, 2)...); reflect.DeepEqual(got, epochs[0]) {
		t.Errorf("seeds 7 and 8 dealt the same epoch %v", got)
	}
}

func TestOrderTilesShortStreams(t *testing.T) {
	// Streams: 12 examples (the epoch: 3 batches of 4), 12 more, and 3 tiled to cover 12.
	o := NewOrder(1, 4, 12, 12, 3)
	counts := map[int]int{}
	for range 3 {
		batch := o.Next()
		if len(batch) != 3 {
			t.Fatalf("got %d streams, want 3", len(batch))
		}
		for _, i := range batch[2] {
			counts[i]++
		}
	}
	if !reflect.DeepEqual(counts, map[int]int{0: 4, 1: 4, 2: 4}) {
		t.Errorf("the short stream was dealt %v, want each of its 3 examples 4 times", counts)
	}
	if o.Epoch() != 1 {
		t.Errorf("after 3 batches Epoch = %d, want 1", o.Epoch())
	}
	if small := NewOrder(1, 4, 3); small.BatchesPerEpoch() != 1 || len(small.Next()[0]) != 4 {
		t.Errorf("a stream smaller than a batch should give one tiled batch per epoch")
	}
}

func TestOrderRestoreResumesExactly(t *testing.T) {
	straight := deal(NewOrder(3, 4, 18), 11) // 4 batches per epoch: crosses two epoch boundaries.
	for cut := range 11 {
		first := NewOrder(3, 4, 18)
		deal(first, cut)
		resumed := NewOrder(3, 4, 18)
		resumed.Restore(first.Epoch(), first.Offset())
		if got := deal(resumed, 11-cut); !reflect.DeepEqual(got, straight[cut:]) {
			t.Errorf("resumed after %d batches at (%d, %d): %v, want %v", cut, first.Epoch(), first.Offset(), got, straight[cut:])
		}
	}
	// A position at the end of an epoch (as GAN checkpoints before trainloop wrote it) is the
	// start of the next one.
	o := NewOrder(3, 4, 18)
	o.Restore(0, 16)
	if o.Epoch() != 1 || o.Offset() != 0 || !reflect.DeepEqual(deal(o, 1), straight[4:5]) {
		t.Errorf("Restore(0, 16) is at (%d, %d), want the first batch of epoch 1", o.Epoch(), o.Offset())
	}
}

// fakeRun is a run whose step only takes a batch, and which records what the loop does.
type fakeRun struct {
	state  *State[int]
	events []string
	failAt int // step whose Step fails (0: none)
}

func newFakeRun() *fakeRun {
	return &fakeRun{state: NewState("fake", 0, 1, 4, 10)} // 2 steps per epoch.
}

func (r *fakeRun) step() (int, error) {
	r.state.Order.Next()
	r.state.Step++
	if r.state.Step == r.failAt {
		return 0, errors.New("step failed")
	}
	return r.state.Step, nil
}

func (r *fakeRun) loop() Loop[int] {
	record := func(what string) func() error {
		return func() error {
			r.events = append(r.events, fmt.Sprintf("%s@%d", what, r.state.Step))
			return nil
		}
	}
	return Loop[int]{Step: r.step, Snapshot: record("snapshot"), Save: record("save"),
		OnStep:   func(int) { record("step")() },
		EndEpoch: func(float64) error { return record("epoch")() }}
}

func TestLoopCadence(t *testing.T) {
	r := newFakeRun()
	l := r.loop()
	l.Steps, l.SnapshotEvery, l.CheckpointEvery, l.SnapshotEachEpoch = 5, 3, 2, true
	if err := Run(context.Background(), r.state, l); err != nil {
		t.Fatal(err)
	}
	want := "step@1 step@2 epoch@2 snapshot@2 save@2 step@3 snapshot@3 step@4 epoch@4 snapshot@4 save@4 " +
		"step@5 snapshot@5 save@5"
	if got := strings.Join(r.events, " "); got != want {
		t.Errorf("events\n  %s\nwant\n  %s", got, want)
	}

	// A resumed run keeps the cadence of the run's steps, and Epochs counts completed epochs in all.
	r.events = nil
	l.Steps, l.Epochs, l.SnapshotEachEpoch = 0, 4, false
	if err := Run(context.Background(), r.state, l); err != nil {
		t.Fatal(err)
	}
	want = "step@6 epoch@6 snapshot@6 save@6 step@7 step@8 epoch@8 save@8 snapshot@8 save@8"
	if got := strings.Join(r.events, " "); got != want {
		t.Errorf("events\n  %s\nwant\n  %s", got, want)
	}
}

func TestLoopSavesWhenStopped(t *testing.T) {
	r := newFakeRun()
	ctx, cancel := context.WithCancel(context.Background())
	l := r.loop()
	l.Steps, l.CheckpointEvery, l.EndEpoch = 100, 50, nil
	l.OnStep = func(step int) {
		if step == 3 {
			cancel()
		}
	}
	if err := Run(ctx, r.state, l); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if got := strings.Join(r.events, " "); got != "save@3" || r.state.Step != 3 {
		t.Errorf("interrupted after step 3: events %q at step %d, want save@3", got, r.state.Step)
	}

	r = newFakeRun()
	r.failAt = 2
	l = r.loop()
	l.Steps = 10
	if err := Run(context.Background(), r.state, l); err == nil || err.Error() != "step failed" {
		t.Fatalf("got %v, want the step's error", err)
	}
	if got := strings.Join(r.events, " "); got != "step@1 save@2" {
		t.Errorf("failed at step 2: events %q, want step@1 save@2 (no OnStep for the failed step)", got)
	}

	// A step fails and so does the save: both are reported, neither is swallowed.
	r = newFakeRun()
	r.failAt = 2
	l = r.loop()
	l.Steps, l.Save = 10, func() error { return errors.New("disk full") }
	err := Run(context.Background(), r.state, l)
	if err == nil || !strings.Contains(err.Error(), "step failed") || !strings.Contains(err.Error(), "final checkpoint was not saved: disk full") {
		t.Errorf("a failed step and a failed save: %v, want both errors", err)
	}
	r = newFakeRun()
	l = r.loop()
	l.Steps, l.Save = 3, func() error { return errors.New("disk full") }
	if err := Run(context.Background(), r.state, l); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("a failed final save after a good run: %v, want its error", err)
	}
}

// TestSaveNeverReplacesMoreSteps: a state does not overwrite a checkpoint of its kind that holds
// more steps; an equal or later state does.
func TestSaveNeverReplacesMoreSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fake.ckpt")
	trained := NewState("fake", 42, 5, 4, 10)
	trained.Step = 9
	if err := trained.Save(path, model.NewStore(), &fakeMeta{}); err != nil {
		t.Fatal(err)
	}
	fresh := NewState("fake", 42, 5, 4, 10)
	err := fresh.Save(path, model.NewStore(), &fakeMeta{})
	if err == nil || !strings.Contains(err.Error(), "holds step 9") || !strings.Contains(err.Error(), "at step 0") {
		t.Errorf("saving step 0 over step 9: %v, want a refusal naming both steps", err)
	}
	var meta fakeMeta
	if err := fresh.Load(path, model.NewStore(), &meta); err != nil || fresh.Step != 9 {
		t.Fatalf("the step-9 checkpoint after the refusal: %v, step %d", err, fresh.Step)
	}
	fresh.Step = 10
	if err := fresh.Save(path, model.NewStore(), &fakeMeta{}); err != nil {
		t.Errorf("saving step 10 over step 9: %v", err)
	}
}

type fakeMeta struct {
	Checkpoint[int]
	Extra string `json:"extra"`
}

func TestStateSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fake.ckpt")
	s := NewState("fake", 42, 5, 4, 10)
	s.Order.Next()
	s.Step = 1
	s.RNG.Uint64()
	if err := s.Save(path, model.NewStore(), &fakeMeta{Extra: "kept"}); err != nil {
		t.Fatal(err)
	}
	want := []uint64{s.RNG.Uint64(), s.RNG.Uint64()}
	wantBatch := s.Order.Next()[0]

	loaded := NewState("fake", 42, 5, 4, 10)
	var meta fakeMeta
	if err := loaded.Load(path, model.NewStore(), &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Extra != "kept" || meta.Kind != "fake" || loaded.Step != 1 || loaded.Order.Epoch() != 0 || loaded.Order.Offset() != 4 {
		t.Errorf("loaded %+v at step %d, order (%d, %d); want extra kept, step 1, order (0, 4)", meta, loaded.Step,
			loaded.Order.Epoch(), loaded.Order.Offset())
	}
	if got := []uint64{loaded.RNG.Uint64(), loaded.RNG.Uint64()}; !reflect.DeepEqual(got, want) {
		t.Errorf("RNG after load draws %v, want %v", got, want)
	}
	if got := loaded.Order.Next()[0]; !reflect.DeepEqual(got, wantBatch) {
		t.Errorf("next batch after load %v, want %v", got, wantBatch)
	}

	for _, other := range []*State[int]{NewState("other", 42, 5, 4, 10), NewState("fake", 43, 5, 4, 10)} {
		err := other.Load(path, model.NewStore(), &fakeMeta{})
		if err == nil || !strings.Contains(err.Error(), "fake.ckpt") {
			t.Errorf("loading into kind %q config %d: %v, want an error naming the file", other.Kind, other.Config, err)
		}
	}
}

// TestInChunks checks that InChunks splits a large request into chunks of at most SampleChunk
// vectors, never pads, and keeps the outputs in order.
func TestInChunks(t *testing.T) {
	const latent = 2
	n := 2*SampleChunk + 5
	z := make([]float32, n*latent)
	for i := range z {
		z[i] = float32(i / latent) // vector k holds the value k twice
	}
	var sizes []int
	out, err := InChunks(z, latent, func(chunk []float32, count int) ([]float32, error) {
		sizes = append(sizes, count)
		if len(chunk) != count*latent {
			t.Fatalf("chunk of %d values for %d vectors", len(chunk), count)
		}
		images := make([]float32, count) // one "pixel" per image: the vector's index
		for i := range images {
			images[i] = chunk[i*latent]
		}
		return images, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 3 || sizes[0] != SampleChunk || sizes[1] != SampleChunk || sizes[2] != 5 {
		t.Errorf("chunk sizes %v, want [%d %d 5]", sizes, SampleChunk, SampleChunk)
	}
	if len(out) != n || out[0] != 0 || out[n-1] != float32(n-1) || out[SampleChunk] != SampleChunk {
		t.Errorf("outputs out of order: len %d, first %v, last %v", len(out), out[0], out[len(out)-1])
	}
	if _, err := InChunks(make([]float32, 3), latent, nil); err == nil {
		t.Error("3 values with latent size 2 accepted")
	}
}

// TestLoadRefusesImpossiblePositions: a checkpoint with a valid checksum whose step or batch
// position no run can reach (negative, an offset that is no whole batch or lies past the epoch) is
// refused naming the file, and the state and store keep what they had.
func TestLoadRefusesImpossiblePositions(t *testing.T) {
	rng, err := rand.NewPCG(1, 2).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, c := range []struct {
		step, epoch, offset int
		rng                 []byte
		reason              string
	}{
		{-1, 0, 0, rng, "step -1"},
		{3, -1, 0, rng, "epoch -1"},
		{3, 0, -4, rng, "offset -4"},
		{3, 0, 6, rng, "offset 6"},   // not a multiple of the batch of 4
		{3, 0, 12, rng, "offset 12"}, // past the epoch of 2 batches (8 images)
		{3, 0, 4, []byte("bad"), "RNG state"},
	} {
		path := filepath.Join(dir, fmt.Sprintf("bad%d.ckpt", i))
		store := model.NewStore()
		if _, err := store.CreateVariable("/w", tensors.FromValue([]float32{1, 2})); err != nil {
			t.Fatal(err)
		}
		meta := &fakeMeta{Checkpoint: Checkpoint[int]{Kind: "fake", Config: 42, Step: c.step, Epoch: c.epoch, Offset: c.offset, RNG: c.rng}}
		if err := checkpoint.Save(path, store, meta); err != nil {
			t.Fatal(err)
		}
		s := NewState("fake", 42, 5, 4, 10)
		s.Step = 7
		before := s.RNG.Uint64()
		s = NewState("fake", 42, 5, 4, 10)
		s.Step = 7
		target := model.NewStore()
		err := s.Load(path, target, &fakeMeta{})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("step %d epoch %d offset %d: Load gave %v, want an error naming the file and %q", c.step, c.epoch,
				c.offset, err, c.reason)
		}
		if s.Step != 7 || s.Order.Epoch() != 0 || s.Order.Offset() != 0 || s.RNG.Uint64() != before || target.GetVariable("/w") != nil {
			t.Errorf("step %d epoch %d offset %d: a refused checkpoint changed the state or the store", c.step, c.epoch, c.offset)
		}
	}
}
