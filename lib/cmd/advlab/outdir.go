package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/advlab/advlab/lib/checkpoint"
)

// lockName is the file that marks an output directory in use by a training run.
const lockName = ".advlab.lock"

// outLock is a held lock on an output directory.
type outLock struct{ path string }

// lockOut takes the lock of the output directory out: one training run at a time writes there. A
// lock left by a process that no longer runs (killed) is taken over, and said so; a live one stops
// this run with a message naming it.
func lockOut(out string) (*outLock, error) {
	path := filepath.Join(out, lockName)
	content := fmt.Sprintf("pid %d\nstarted %s\ncommand %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339),
		strings.Join(os.Args, " "))
	for attempt := 0; attempt < 2; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := f.WriteString(content)
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				_ = os.Remove(path)
				return nil, fmt.Errorf("-out %s: writing the lock %s: %w", out, path, werr)
			}
			return &outLock{path: path}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("-out %s: taking the lock %s: %w", out, path, err)
		}
		holder, _ := os.ReadFile(path)
		pid := lockPID(string(holder))
		if pid > 0 && processRuns(pid) {
			return nil, fmt.Errorf("-out %s is in use by another advlab run (%s); wait for it to end or choose another -out",
				out, strings.Join(strings.Fields(strings.ReplaceAll(string(holder), "\n", "; ")), " "))
		}
		fmt.Fprintf(os.Stderr, "-out %s: taking over the lock of a run that no longer runs (pid %d)\n", out, pid)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("-out %s: removing the stale lock %s: %w", out, path, err)
		}
	}
	return nil, fmt.Errorf("-out %s: another run took the lock %s at the same moment; try again", out, path)
}

// release removes the lock.
func (l *outLock) release() {
	if l != nil {
		_ = os.Remove(l.path)
	}
}

// lockPID reads the pid line of a lock file (0 when there is none).
func lockPID(content string) int {
	for _, line := range strings.Split(content, "\n") {
		if rest, ok := strings.CutPrefix(line, "pid "); ok {
			if pid, err := strconv.Atoi(strings.TrimSpace(rest)); err == nil {
				return pid
			}
		}
	}
	return 0
}

// processRuns reports whether a process with this pid exists (signal 0 probes without sending).
func processRuns(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeStaleTemporaries deletes the temporary files of checkpoint saves that a kill interrupted
// (".NAME.tmp-*" beside the checkpoint): with the lock held, no save of another run can be under way.
func removeStaleTemporaries(out, checkpointName string) {
	matches, _ := filepath.Glob(filepath.Join(out, "."+checkpointName+".tmp-*"))
	for _, m := range matches {
		if err := os.Remove(m); err == nil {
			fmt.Fprintf(os.Stderr, "removed %s, left by an interrupted save\n", m)
		}
	}
}

// savedRun is the part of every engine's checkpoint metadata that says where the run stands.
type savedRun struct {
	Kind  string    `json:"kind"`
	Step  int       `json:"step"`
	Saved time.Time `json:"saved"`
}

// guardTrainedRun keeps a trained run in out from being replaced without the user's word: without
// -resume or -force, an existing checkpoint stops the run; with -force (and without -resume) it is
// renamed aside, never deleted, and the new name is said.
func guardTrainedRun(out, path string, resume, force bool) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) || resume {
		return nil
	}
	if err != nil {
		return fmt.Errorf("-out %s: %w", out, err)
	}
	what := path
	var run savedRun
	if !info.Mode().IsRegular() {
		what = fmt.Sprintf("%s (not a regular file: %s)", path, info.Mode().Type())
	} else if rerr := checkpoint.ReadMeta(path, &run); rerr != nil {
		what = fmt.Sprintf("%s (unreadable: %v)", path, rerr)
	} else {
		what = fmt.Sprintf("%s (a %s run at step %d, saved %s)", path, run.Kind, run.Step, run.Saved.Local().Format(time.DateTime))
	}
	if !force {
		return usageError("-out %s holds a trained run: %s. Continue it with -resume, replace it with -force "+
			"(the old checkpoint is kept under another name), or choose another -out", out, what)
	}
	aside := fmt.Sprintf("%s.replaced-%s", path, time.Now().Format("20060102-150405"))
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("-force: keeping the old checkpoint %s as %s: %w", path, aside, err)
	}
	fmt.Fprintf(os.Stderr, "-force: the old checkpoint %s is kept as %s\n", what, aside)
	return nil
}

// settingsName is the file in which a run records the flags that shape its model and data beyond
// what its checkpoint's configuration holds (the architecture, the dataset, ...).
const settingsName = "run.json"

// runSettings records, for a fresh run, or checks, for a resumed one, the settings that change the
// model or the data: resuming with another -dataset or -arch is refused naming the flag and both
// values. A run from before this file existed resumes with a note.
func (s *trainSession) runSettings(job string, resume bool, settings map[string]string) error {
	path := filepath.Join(s.out, settingsName)
	recorded := map[string]string{}
	if resume {
		raw, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "note: %s has no %s (an older run): -arch, -dataset and the like are not checked against it\n",
				s.out, settingsName)
			return nil
		}
		if err == nil {
			err = json.Unmarshal(raw, &recorded)
		}
		if err != nil {
			return fmt.Errorf("-resume: reading %s: %w", path, err)
		}
		if recorded["job"] != job {
			return usageError("-resume: %s holds a %q run, not %s", s.out, recorded["job"], job)
		}
		names := make([]string, 0, len(settings))
		for name := range settings {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if was, ok := recorded[name]; ok && was != settings[name] {
				return usageError("-resume: -%s %s, but the run in %s was trained with -%s %s; resume with the same "+
					"-%s, or start another run with another -out", name, settings[name], s.out, name, was, name)
			}
		}
		return nil
	}
	recorded["job"] = job
	for name, value := range settings {
		recorded[name] = value
	}
	encoded, err := json.MarshalIndent(recorded, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(encoded, '\n'), 0o644)
}
