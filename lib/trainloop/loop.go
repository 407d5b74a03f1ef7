package trainloop

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Loop is one Train call of an engine: how many steps, the step itself, and what happens between
// steps. Every count is in steps of the run (State.Step), so a resumed run keeps its cadence.
type Loop[M any] struct {
	// Steps is the number of steps to run; Epochs, when > 0, runs instead until that many epochs
	// are complete in all (for engines that take one batch per step).
	Steps, Epochs int
	// Step runs one training step and returns its metrics. An error stops the loop (the state is
	// kept and saved).
	Step func() (M, error)
	// OnStep, when set, receives the metrics of every step that succeeded.
	OnStep func(M)
	// EndEpoch, when set, runs after every step that completes an epoch, with the wall time of the
	// epoch's steps in this call (snapshots excluded).
	EndEpoch func(seconds float64) error
	// Snapshot, when set, reports the current model: every SnapshotEvery steps and at the end
	// (SnapshotEvery > 0), and after every EndEpoch with SnapshotEachEpoch.
	Snapshot          func() error
	SnapshotEvery     int
	SnapshotEachEpoch bool
	// Save, when set, writes a checkpoint every CheckpointEvery steps (0: never in between) and
	// whenever the loop ends: done, failed or interrupted.
	Save            func() error
	CheckpointEvery int
}

// Run runs l on the run whose state is s. Cancelling ctx (a notebook interrupt, Ctrl-C) stops it
// between steps. It returns ctx's error when interrupted, the first error of a step or a callback
// otherwise, and joined to either, a failed final save's error.
func Run[C comparable, M any](ctx context.Context, s *State[C], l Loop[M]) (err error) {
	snapshot := func() error {
		if l.Snapshot == nil {
			return nil
		}
		return l.Snapshot()
	}
	if l.Save != nil {
		defer func() {
			// Whatever stopped the loop, keep what was trained; a failed save is reported with
			// what stopped the loop, never swallowed.
			if serr := l.Save(); serr != nil {
				err = errors.Join(err, fmt.Errorf("the final checkpoint was not saved: %w", serr))
			}
		}()
	}
	steps := l.Steps
	if l.Epochs > 0 {
		steps = max(0, l.Epochs*s.Order.BatchesPerEpoch()-s.Step)
	}
	epochStart, epochSeconds := time.Now(), 0.0
	for range steps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		epochBefore := s.Order.Epoch()
		m, stepErr := l.Step()
		if stepErr != nil {
			return stepErr
		}
		if l.OnStep != nil {
			l.OnStep(m)
		}
		if s.Order.Epoch() != epochBefore && l.EndEpoch != nil {
			epochSeconds += time.Since(epochStart).Seconds()
			if err := l.EndEpoch(epochSeconds); err != nil {
				return err
			}
			if l.SnapshotEachEpoch {
				if err := snapshot(); err != nil {
					return err
				}
			}
			epochStart, epochSeconds = time.Now(), 0
		}
		if l.SnapshotEvery > 0 && s.Step%l.SnapshotEvery == 0 {
			epochSeconds += time.Since(epochStart).Seconds()
			if err := snapshot(); err != nil {
				return err
			}
			epochStart = time.Now()
		}
		if l.Save != nil && l.CheckpointEvery > 0 && s.Step%l.CheckpointEvery == 0 {
			if err := l.Save(); err != nil {
				return err
			}
		}
	}
	if l.SnapshotEvery > 0 && s.Step%l.SnapshotEvery != 0 {
		return snapshot()
	}
	return nil
}
