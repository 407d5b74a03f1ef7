package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gomlx/compute"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/checkpoint"
	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/trainloop"
)

// trainJobs maps the name of a training job (`advlab train NAME ...`) to its entry point, which
// receives the arguments after NAME. Each job's file adds itself in its init.
var trainJobs = map[string]func(args []string) error{}

func init() {
	register("train", "train a model headless: advlab train JOB [flags] (jobs: run `advlab train -h`)", runTrain)
}

// runTrain dispatches `advlab train JOB ...` to the job registered under JOB.
func runTrain(args []string) error {
	if len(args) == 0 {
		return usageError("missing job; usage: advlab train JOB [flags], with JOB one of: %s", trainJobList())
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Printf("usage: advlab train JOB [flags]\n\njobs: %s\n\nRun `advlab train JOB -h` for a job's flags.\n", trainJobList())
		return nil
	}
	job, found := trainJobs[args[0]]
	if !found {
		return usageError("unknown job %q; jobs: %s", args[0], trainJobList())
	}
	return job(args[1:])
}

func trainJobList() string {
	names := make([]string, 0, len(trainJobs))
	for name := range trainJobs {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// trainSession is what every training job sets up before its loop: the backend (announced on
// stderr), the output directory (locked for this run), a context cancelled by Ctrl-C or SIGTERM
// (the loop then saves its checkpoint and stops), and the checkpoint's path.
type trainSession struct {
	ctx         context.Context
	stop        func() // cancels ctx and releases the output directory
	backend     compute.Backend
	backendName string
	out         string
	checkpoint  string
	started     time.Time
}

// startTraining creates and locks out, keeps a trained run there from being replaced (without
// resume or force, its checkpoint stops the run; with force it is kept under another name),
// removes what interrupted saves left, selects the backend and returns the session; call its stop
// when done. checkpointName is the checkpoint's file name inside out; without out ("") there is no
// directory to guard.
func startTraining(out, checkpointName string, resume, force bool) (*trainSession, error) {
	s := &trainSession{out: out, started: time.Now()}
	var lock *outLock // nil without an output directory (the evaluator writes one file)
	if out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, fmt.Errorf("-out %s: %w", out, err)
		}
		var err error
		if lock, err = lockOut(out); err != nil {
			return nil, err
		}
		s.checkpoint = filepath.Join(out, checkpointName)
		removeStaleTemporaries(out, checkpointName)
		if err := guardTrainedRun(out, s.checkpoint, resume, force); err != nil {
			lock.release()
			return nil, err
		}
	}
	b, choice, err := backend.New()
	if err != nil {
		lock.release()
		return nil, err
	}
	fmt.Fprintln(os.Stderr, choice)
	s.backend, s.backendName = b, choice.Config
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	s.ctx, s.stop = ctx, func() { cancel(); lock.release() }
	return s, nil
}

// resumable is a trainer that loads its checkpoint.
type resumable interface {
	Load(path string) error
	StepCount() int
}

// resume loads the session's checkpoint into trainer and says where it continues from.
func (s *trainSession) resume(trainer resumable) error {
	if err := trainer.Load(s.checkpoint); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "resumed from %s at step %d\n", s.checkpoint, trainer.StepCount())
	return nil
}

// interrupted wraps a training loop's error with what the checkpoint on disk holds, read back from
// it: the step this run saved, or that this run saved nothing and what is there instead.
func (s *trainSession) interrupted(err error) error {
	var run savedRun
	if rerr := checkpoint.ReadMeta(s.checkpoint, &run); rerr != nil {
		return fmt.Errorf("%w (no checkpoint was saved: %v)", err, rerr)
	}
	if run.Saved.Before(s.started.Add(-time.Second)) {
		return fmt.Errorf("%w (this run saved no checkpoint; %s still holds step %d, saved %s)", err, s.checkpoint,
			run.Step, run.Saved.Local().Format(time.DateTime))
	}
	return fmt.Errorf("%w (the state at step %d is saved in %s; continue with -resume)", err, run.Step, s.checkpoint)
}

// trainingTime says how long this process has trained: after a resume, since the resumed step.
func trainingTime(seconds float64, startStep int) string {
	if startStep > 0 {
		return fmt.Sprintf("%.0f s of training since the resume at step %d", seconds, startStep)
	}
	return fmt.Sprintf("%.0f s of training", seconds)
}

// reportChanges says, after a resume, which optimiser settings changed against the checkpoint's
// (the engines record the change in the run's checkpoints).
func reportChanges[C comparable](changes []trainloop.ConfigChange[C], step int) {
	if n := len(changes); n > 0 && changes[n-1].Step == step {
		fmt.Fprintf(os.Stderr, "resumed with other optimiser settings at step %d (recorded in the checkpoint):\n  before: %+v\n  now:    %+v\n",
			step, changes[n-1].From, changes[n-1].To)
	}
}

// forceFlag defines -force, the user's word that a trained run in -out may be replaced.
func forceFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("force", false, "start afresh even if -out holds a trained run (its checkpoint is kept under another name)")
}

// writeMetrics writes v as indented JSON to metrics.json in the output directory.
func (s *trainSession) writeMetrics(v any) error { return s.writeJSON("metrics.json", v) }

// writeJSON writes v as indented JSON to the file name in the output directory, atomically (a
// reader never sees half a file, and an interrupted write leaves the previous one).
func (s *trainSession) writeJSON(name string, v any) error {
	encoded, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.out, name)
	if err := os.WriteFile(path+".tmp", append(encoded, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// devicesFlag defines -devices, the training engines' Config.Devices.
func devicesFlag(fs *flag.FlagSet) *int {
	return fs.Int("devices", 0, "train data-parallel on this many devices of an XLA backend, -batch/N images each "+
		"(0: one device; on one CPU, GOMLX_BACKEND=xla:cpu,devices=N; see docs/performance.md)")
}

// loadSplits loads a dataset's training and test splits (fetching them into the cache the first
// time); limitTrain and limitTest, when > 0, keep only that many images of each.
func loadSplits(dataset string, limitTrain, limitTest int) (train, test *data.Set, err error) {
	if train, err = data.Load(dataset, data.Train); err != nil {
		return nil, nil, err
	}
	if test, err = data.Load(dataset, data.Test); err != nil {
		return nil, nil, err
	}
	if limitTrain > 0 && limitTrain < train.N {
		train = train.Subset(firstN(limitTrain, train.N))
	}
	if limitTest > 0 && limitTest < test.N {
		test = test.Subset(firstN(limitTest, test.N))
	}
	return train, test, nil
}

// firstN returns the indices 0..min(n, available)-1.
func firstN(n, available int) []int {
	indices := make([]int, min(n, available))
	for i := range indices {
		indices[i] = i
	}
	return indices
}
