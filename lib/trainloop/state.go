package trainloop

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/advlab/advlab/lib/checkpoint"
)

// State is the host-side state of a training run that a checkpoint carries besides the model
// store: what run it is, how many steps it has done, where it stands in its batch order and the
// state of the host RNG that draws its noise (latent vectors, ε).
type State[C comparable] struct {
	// Kind names the engine (and variant) in checkpoints: "gan", "vae", "ssl".
	Kind string
	// Config is the run's configuration; a checkpoint loads only into a run with an equal one.
	Config C
	// Step is the number of training steps done.
	Step int
	// Order deals the batches.
	Order *Order
	// RNG draws the run's host-side noise; its state is checkpointed.
	RNG *rand.Rand
	// Tunable, when set, returns a configuration without the settings a resumed run may change
	// (the optimiser's): a checkpoint then loads into a run whose configuration differs from the
	// checkpoint's only in those settings, and Load records the change in Changes. Without it the
	// configurations must be equal.
	Tunable func(C) C
	// Changes lists the configuration changes made on resume, oldest first; checkpoints carry it.
	Changes []ConfigChange[C]

	source *rand.PCG
}

// ConfigChange is a configuration change made when a run was resumed: from the checkpoint's
// configuration to the resumed run's, at the checkpoint's step.
type ConfigChange[C comparable] struct {
	Step int `json:"step"`
	From C   `json:"from"`
	To   C   `json:"to"`
}

// NewState returns the state of a fresh run of kind with configuration cfg, whose batches of
// batchSize come from streams of the given sizes (see NewOrder) and whose order and noise are
// drawn from seed.
func NewState[C comparable](kind string, cfg C, seed uint64, batchSize int, sizes ...int) *State[C] {
	source := rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	return &State[C]{Kind: kind, Config: cfg, Order: NewOrder(seed, batchSize, sizes...), RNG: rand.New(source),
		source: source}
}

// Checkpoint is the metadata every engine's checkpoint holds: the run's kind, configuration,
// position and host RNG state. An engine's metadata struct embeds it, so that these fields sit at
// the top level of the JSON document beside the engine's own (history, counters).
type Checkpoint[C comparable] struct {
	// Kind and Config are State's.
	Kind   string `json:"kind"`
	Config C      `json:"config"`
	// Step is the number of steps done.
	Step int `json:"step"`
	// Epoch and Offset are the batch order's position (Order.Epoch, Order.Offset).
	Epoch  int `json:"epoch"`
	Offset int `json:"offset"`
	// RNG is the host RNG's state (PCG's binary encoding).
	RNG []byte `json:"rng"`
	// Saved is when the checkpoint was written (UTC).
	Saved time.Time `json:"saved"`
	// Changes are State.Changes: the run's configuration changes on resume.
	Changes []ConfigChange[C] `json:"config_changes,omitempty"`
}

// SetLearningRate sets the learning rate that GoMLX's optimizers keep as a variable under scope
// (created by their first update graph) to lr. A checkpoint restores that variable with the rest,
// so a run resumed with another learning rate calls it after Load; where the variable does not
// exist yet, the optimizer creates it with its configured rate and there is nothing to set.
func SetLearningRate(scope *model.Scope, lr float64) error {
	v := scope.At(optimizer.Scope).GetVariable(optimizer.ParamLearningRate)
	if v == nil || !v.HasValue() {
		return nil
	}
	value, err := v.Value()
	if err != nil {
		return err
	}
	rate, err := tensors.FromAnyValue(shapes.CastAsDType(lr, value.DType()))
	if err != nil {
		return err
	}
	return v.SetValue(rate)
}

// Common returns c itself; through embedding it gives State the shared part of an engine's
// metadata (see Meta).
func (c *Checkpoint[C]) Common() *Checkpoint[C] { return c }

// Meta is an engine's checkpoint metadata: a pointer to a struct that embeds Checkpoint[C].
type Meta[C comparable] interface {
	Common() *Checkpoint[C]
}

// Save writes a checkpoint to path atomically: the variables of store and meta, whose shared part
// Save fills in from s.
func (s *State[C]) Save(path string, store *model.Store, meta Meta[C]) error {
	rngState, err := s.source.MarshalBinary()
	if err != nil {
		return err
	}
	// Never replace a checkpoint of this kind of run that holds more steps than this state (another
	// run's, or a later state of this one): a damaged or foreign file is no such checkpoint.
	var onDisk Checkpoint[C]
	if checkpoint.ReadMeta(path, &onDisk) == nil && onDisk.Kind == s.Kind && onDisk.Step > s.Step {
		return fmt.Errorf("%s: not saved: %s holds step %d (saved %s), this run is at step %d; a checkpoint is never "+
			"replaced by one of fewer steps: load it to continue from it (Load; advlab train's -resume), or save to "+
			"another path (advlab train's -force keeps the old one under another name)", s.Kind, path, onDisk.Step,
			onDisk.Saved.Format(time.RFC3339), s.Step)
	}
	*meta.Common() = Checkpoint[C]{Kind: s.Kind, Config: s.Config, Step: s.Step, Epoch: s.Order.Epoch(),
		Offset: s.Order.Offset(), RNG: rngState, Saved: time.Now().UTC(), Changes: s.Changes}
	return checkpoint.Save(path, store, meta)
}

// Load reads a checkpoint written by Save from a run of the same kind and configuration (up to
// Tunable's settings, whose change it records): the
// variables into store, the metadata into meta, and the step count, batch order and RNG state into
// s. Training then continues exactly as if it had not stopped (bit for bit on the same backend).
func (s *State[C]) Load(path string, store *model.Store, meta Meta[C]) error {
	if err := checkpoint.ReadMeta(path, meta); err != nil {
		return err
	}
	common := meta.Common()
	if common.Kind != s.Kind {
		return fmt.Errorf("%s: checkpoint %s holds a %q run, this trainer is %q", s.Kind, path, common.Kind, s.Kind)
	}
	changes := common.Changes
	if common.Config != s.Config && s.Tunable != nil && s.Tunable(common.Config) == s.Tunable(s.Config) {
		changes = append(append([]ConfigChange[C]{}, changes...), ConfigChange[C]{Step: common.Step, From: common.Config, To: s.Config})
	} else if common.Config != s.Config {
		return fmt.Errorf("%s: checkpoint %s was written with another configuration:\n  checkpoint: %+v\n  this run:   %+v",
			s.Kind, path, common.Config, s.Config)
	}
	// The host state is checked before the store changes: a bad file loads nothing.
	if common.Step < 0 {
		return fmt.Errorf("%s: checkpoint %s: step %d, want >= 0", s.Kind, path, common.Step)
	}
	order := *s.Order
	if err := order.Restore(common.Epoch, common.Offset); err != nil {
		return fmt.Errorf("%s: checkpoint %s: %w", s.Kind, path, err)
	}
	source := *s.source
	if err := source.UnmarshalBinary(common.RNG); err != nil {
		return fmt.Errorf("%s: checkpoint %s: bad RNG state: %w", s.Kind, path, err)
	}
	if err := checkpoint.Load(path, store, nil); err != nil {
		return err
	}
	*s.source, *s.Order = source, order
	s.Step, s.Changes = common.Step, changes
	return nil
}
