package active

import (
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/trainloop"
)

// keptNetworks holds a strategy's networks and compiled graphs from one round to the next. Each
// round still starts the networks afresh from its own seed, as VAAL and ARAL re-create theirs every
// cycle, but by re-initialising the variables (trainloop.Initial) instead of building and compiling
// new graphs: on XLA, compiling a VAAL round's graphs took about 5 s against 0.3 s of training.
type keptNetworks[T roundNetworks] struct {
	mu      sync.Mutex // held for a whole round
	key     any        // what the networks were built for (backend, configuration, image shape)
	store   *model.Store
	initial *trainloop.Initial
	nets    T
}

// roundNetworks are a strategy's networks.
type roundNetworks interface {
	// storeOf returns the networks' store.
	storeOf() *model.Store
}

// get returns the networks kept for key, or, when none are kept for key, those that build returns,
// initialised from seed either way. build must build (compile) every training graph, so that every
// variable exists before any runs, and release what it made when it fails. key must be comparable.
// The caller holds k.mu.
func (k *keptNetworks[T]) get(key any, seed uint64, build func() (T, error)) (T, error) {
	if k.store != nil && k.key == key {
		if err := k.initial.Reset(storeSeed(seed)); err == nil {
			return k.nets, nil
		}
	}
	k.drop()
	var none T
	nets, err := build()
	if err != nil {
		return none, err
	}
	store := nets.storeOf()
	k.initial, err = trainloop.RecordInitial(store)
	if err == nil {
		err = k.initial.Reset(storeSeed(seed))
	}
	if err != nil {
		store.Finalize()
		return none, err
	}
	k.key, k.store, k.nets = key, store, nets
	return nets, nil
}

// drop releases the kept networks (after a failed round their state is unknown).
func (k *keptNetworks[T]) drop() {
	if k.store != nil {
		k.store.Finalize()
	}
	var none T
	k.key, k.store, k.initial, k.nets = nil, nil, nil, none
}

// storeSeed is the store seed (model.ParamInitialSeed) of a round's seed; never 0, which would
// mean "random".
func storeSeed(seed uint64) int64 { return int64(seed%(1<<62)) + 1 }

// inferenceExec returns *exec, (re)built with build when it is nil, or always on backends that
// embed the non-trainable variables of inference graphs as constants when they compile (ONNX
// Runtime): there a kept graph would score with the batch-norm statistics of the round it was
// compiled in.
func inferenceExec(backend compute.Backend, exec **model.Exec, build func() (*model.Exec, error)) (*model.Exec, error) {
	if *exec != nil && !backend.Capabilities().PreferConstantsForVariables {
		return *exec, nil
	}
	if *exec != nil {
		(*exec).Finalize()
	}
	var err error
	*exec, err = build()
	return *exec, err
}
