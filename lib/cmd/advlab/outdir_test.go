package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/internal/testenv"
	"github.com/advlab/advlab/lib/checkpoint"
	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/trainloop"
)

// TestTrainedRunIsNeverLost trains a tiny MLP GAN into a directory and then tries, as a user might,
// every way of losing it: a rerun without -resume (with -steps 0 too, which used to write an empty
// checkpoint and panic), a rerun with another -dataset or -arch under -resume, a second run while
// a first holds the directory. Each is refused naming the flag or the holder, and the checkpoint's
// bytes stay the same; -force keeps the old checkpoint under another name; a stale lock and the
// temporary file of a killed save are cleaned up; -resume continues at the saved step.
func TestTrainedRunIsNeverLost(t *testing.T) {
	if _, err := data.LoadWith("mnist", data.Train, data.FetchOptions{Offline: true}); err != nil {
		testenv.Missing(t, "MNIST is not in the data cache, skipping the training runs: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	ckpt := filepath.Join(dir, "gan.ckpt")
	train := func(extra ...string) error {
		return runTrain(append([]string{"gan", "-arch", "mlp", "-fid-samples", "0", "-snapshot-every", "0", "-out", dir}, extra...))
	}
	step := func(path string) int {
		t.Helper()
		var run savedRun
		if err := checkpoint.ReadMeta(path, &run); err != nil {
			t.Fatal(err)
		}
		return run.Step
	}
	if err := train("-steps", "3"); err != nil {
		t.Fatal(err)
	}
	trained, _ := os.ReadFile(ckpt)
	if step(ckpt) != 3 {
		t.Fatalf("first run saved step %d, want 3", step(ckpt))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-steps", "5"}, "holds a trained run"},
		{[]string{"-steps", "0"}, "holds a trained run"},
		{[]string{"-steps", "2", "-resume", "-dataset", "fashion"}, "-dataset fashion, but the run in " + dir + " was trained with -dataset mnist"},
		{[]string{"-steps", "2", "-resume", "-arch", "mlp-labml"}, "-arch"},
	} {
		err := runTrain(append([]string{"gan", "-fid-samples", "0", "-snapshot-every", "0", "-out", dir, "-arch", "mlp"}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("train gan %v into a trained -out: %v, want an error containing %q", c.args, err, c.want)
		}
		if now, _ := os.ReadFile(ckpt); !bytes.Equal(now, trained) {
			t.Fatalf("train gan %v changed the trained checkpoint", c.args)
		}
	}

	// A live holder of the lock stops a second run; a dead one's lock is taken over.
	lock := filepath.Join(dir, lockName)
	if err := os.WriteFile(lock, fmt.Appendf(nil, "pid %d\nstarted now\ncommand advlab train gan\n", os.Getpid()), 0o644); err != nil {
		t.Fatal(err)
	}
	err := train("-steps", "1", "-resume")
	if err == nil || !strings.Contains(err.Error(), "in use by another advlab run") || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("a run while another holds -out: %v, want a refusal naming the holder's pid", err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, fmt.Appendf(nil, "pid %d\n", dead.Process.Pid), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".gan.ckpt.tmp-12345")
	if err := os.WriteFile(stale, []byte("half a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := train("-steps", "2", "-resume"); err != nil {
		t.Fatalf("resuming after a killed run (stale lock, half-written temporary file): %v", err)
	}
	if step(ckpt) != 5 {
		t.Errorf("resumed run saved step %d, want 3 + 2", step(ckpt))
	}
	for _, leftover := range []string{lock, stale} {
		if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there after the run", leftover)
		}
	}

	// -force starts afresh and keeps the old checkpoint under another name.
	if err := train("-steps", "1", "-force"); err != nil {
		t.Fatal(err)
	}
	kept, _ := filepath.Glob(ckpt + ".replaced-*")
	if len(kept) != 1 || step(kept[0]) != 5 || step(ckpt) != 1 {
		t.Errorf("after -force: kept %v, new checkpoint at step %d; want the step-5 checkpoint kept and a new one at step 1", kept, step(ckpt))
	}
}

// TestInterruptedSaysWhatWasSaved: the message after a failed run reads the checkpoint back: the
// step this run saved, or that it saved none and what the file still holds, or that there is none.
func TestInterruptedSaysWhatWasSaved(t *testing.T) {
	dir := t.TempDir()
	s := &trainSession{out: dir, checkpoint: filepath.Join(dir, "gan.ckpt"), started: time.Now()}
	cause := errors.New("GAN training diverged at step 7")
	if err := s.interrupted(cause); !errors.Is(err, cause) || !strings.Contains(err.Error(), "no checkpoint was saved") {
		t.Errorf("without a checkpoint: %v", err)
	}
	state := trainloop.NewState("gan", 1, 1, 4, 16)
	state.Step = 4
	type meta struct{ trainloop.Checkpoint[int] }
	if err := state.Save(s.checkpoint, model.NewStore(), &meta{}); err != nil {
		t.Fatal(err)
	}
	if err := s.interrupted(cause); !strings.Contains(err.Error(), "the state at step 4 is saved in "+s.checkpoint) {
		t.Errorf("with this run's checkpoint: %v", err)
	}
	s.started = time.Now().Add(time.Hour) // the checkpoint predates the run
	if err := s.interrupted(cause); !strings.Contains(err.Error(), "this run saved no checkpoint") || !strings.Contains(err.Error(), "step 4") {
		t.Errorf("with an older checkpoint: %v", err)
	}
}
