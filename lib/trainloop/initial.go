package trainloop

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Initial is the initial state of a model store's variables, recorded once its graphs are built
// and before they first run, so that the store can later be re-initialised with another seed
// while the compiled graphs that use its variables are kept. Engines that start their networks
// afresh many times (an active learner's rounds) then compile their graphs once: on XLA a compile
// takes seconds where the step itself takes milliseconds.
//
// Reset with seed s leaves the store as a new store with ParamInitialSeed s would be after its
// first initialisation: the variables filled by initializers are drawn again from the store's
// random state, started from s as GoMLX starts it, and the variables created with a value (batch
// norm's running statistics, optimizer state) get that value back.
type Initial struct {
	store *model.Store
	drawn []*model.Variable                   // filled by their initializer on the next run
	given map[*model.Variable]*tensors.Tensor // created with a value: a host copy of it
}

// RecordInitial records the initial state of store. Call it after every graph that uses the
// store has been built (model.Exec.Compile builds and compiles one without running it) and
// before any of them runs.
func RecordInitial(store *model.Store) (*Initial, error) {
	in := &Initial{store: store, given: map[*model.Variable]*tensors.Tensor{}}
	for v := range store.IterVariables() {
		switch {
		case isRNGState(v):
			// Graphs that draw noise while training create it, seeded, when they are built.
			if err := checkUnused(store, v); err != nil {
				return nil, err
			}
		case v.HasValue():
			value, err := v.Value()
			if err != nil {
				return nil, fmt.Errorf("trainloop: reading the initial value of %s: %w", v.Path(), err)
			}
			if in.given[v], err = value.LocalClone(); err != nil {
				return nil, fmt.Errorf("trainloop: copying the initial value of %s: %w", v.Path(), err)
			}
		default:
			in.drawn = append(in.drawn, v)
		}
	}
	return in, nil
}

// Reset re-initialises every variable of the store with seed (model.ParamInitialSeed; 0 would
// mean a random seed, as in GoMLX). Drawn variables are initialised when a graph next runs.
func (in *Initial) Reset(seed int64) error {
	known := len(in.drawn) + len(in.given)
	count := 0
	for v := range in.store.IterVariables() {
		if !isRNGState(v) {
			count++
		}
	}
	if count != known {
		return fmt.Errorf("trainloop: the store holds %d variables, %d when its initial state was recorded: "+
			"build every graph before RecordInitial", count, known)
	}
	in.store.RootScope().SetParam(model.ParamInitialSeed, seed)
	for _, v := range in.drawn {
		if err := v.SetValue(nil); err != nil {
			return fmt.Errorf("trainloop: resetting %s: %w", v.Path(), err)
		}
	}
	for v, initial := range in.given {
		value, err := initial.LocalClone()
		if err == nil {
			err = v.SetValue(value)
		}
		if err != nil {
			return fmt.Errorf("trainloop: resetting %s: %w", v.Path(), err)
		}
	}
	// A new store seeds its random state from ParamInitialSeed when a graph first draws (an
	// initializer, or noise in a training graph).
	for v := range in.store.IterVariables() {
		if isRNGState(v) {
			return in.store.ResetRNGState()
		}
	}
	return nil
}

// checkUnused returns an error unless the store's random state rng is still the one its seed gives:
// once a graph has run, initializers have drawn from it and the initial values are gone.
func checkUnused(store *model.Store, rng *model.Variable) error {
	seed, ok := store.RootScope().GetParam(model.ParamInitialSeed)
	if !ok || !rng.HasValue() {
		return nil
	}
	value, err := rng.Value()
	if err != nil {
		return err
	}
	seed64, ok := seed.(int64)
	if !ok {
		return fmt.Errorf("trainloop: the store's %s is a %T, want an int64", model.ParamInitialSeed, seed)
	}
	seeded, err := graph.RNGStateFromSeed(seed64)
	if err != nil {
		return err
	}
	if !value.Equal(seeded) {
		return fmt.Errorf("trainloop: the store's random state has already been drawn from: record the initial state " +
			"after building the graphs and before any of them runs")
	}
	return nil
}

func isRNGState(v *model.Variable) bool { return v.Name() == model.RNGStateVariableName }
