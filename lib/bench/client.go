package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Column is one side of the comparison: a worker process and how to start it.
type Column struct {
	// Name labels the column in the report ("go", "torch", "go onnx:cpu", ...).
	Name string `json:"name"`
	// Peer marks a column of another framework (PyTorch, TensorFlow, JAX): the fastest peer of
	// each workload is the reference of that workload's ratios.
	Peer bool `json:"peer,omitempty"`
	// Unavailable, when set, says why the column cannot run (a peer that could not be installed);
	// the column is reported with that reason and no worker is started.
	Unavailable string `json:"unavailable,omitempty"`
	// Command and Args start the worker; Env is added to the inherited environment.
	Command string   `json:"command"`
	Args    []string `json:"args,omitempty"`
	Env     []string `json:"env,omitempty"`
}

// worker is a running worker process.
type worker struct {
	column Column
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // response lines; closed when the worker's stdout ends
	done   chan error  // the process's exit status
	// exited, once set, says how the process ended; every later request fails with it.
	exited error
}

// startWorker starts the column's worker process. Its stderr and any stdout lines that are not
// responses go to log.
func startWorker(c Column, log io.Writer) (*worker, error) {
	cmd := exec.Command(c.Command, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stderr = log
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting the %s worker (%s): %w", c.Name, c.Command, err)
	}
	w := &worker{column: c, cmd: cmd, stdin: stdin, lines: make(chan string), done: make(chan error, 1)}
	go func() {
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			line := scanner.Text()
			if rest, found := strings.CutPrefix(line, ResponsePrefix); found {
				w.lines <- rest
			} else {
				fmt.Fprintf(log, "[%s] %s\n", c.Name, line)
			}
		}
		close(w.lines)
		w.done <- cmd.Wait()
	}()
	return w, nil
}

// call sends one request and waits up to timeout for its response.
func (w *worker) call(req Request, timeout time.Duration) (Response, error) {
	if w.exited != nil {
		return Response{}, fmt.Errorf("bench: the %s worker is not running: %w", w.column.Name, w.exited)
	}
	encoded, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := fmt.Fprintf(w.stdin, "%s\n", encoded); err != nil {
		// The worker has most likely exited: say how, not only that its pipe is closed.
		return Response{}, fmt.Errorf("bench: the %s worker did not take %q: %w", w.column.Name, req.Cmd, w.exitStatus(err))
	}
	select {
	case line, open := <-w.lines:
		if !open {
			return Response{}, fmt.Errorf("bench: the %s worker exited during %q: %w", w.column.Name, req.Cmd, w.exitStatus(nil))
		}
		var resp Response
		if err := json.Unmarshal([]byte(line), &resp); err != nil {
			return Response{}, fmt.Errorf("bench: %s worker: bad response %q: %w", w.column.Name, line, err)
		}
		if !resp.OK {
			return resp, fmt.Errorf("bench: %s worker, %q: %s", w.column.Name, req.Cmd, resp.Error)
		}
		return resp, nil
	case <-time.After(timeout):
		w.kill()
		return Response{}, fmt.Errorf("bench: the %s worker did not answer %q within %s; stopped it", w.column.Name,
			req.Cmd, timeout)
	}
}

// exitStatus waits a few seconds for the worker's exit status and records it in w.exited; a worker
// killed by SIGKILL is said to be, with the likely cause. writeErr, when the process has not ended,
// is returned as is.
func (w *worker) exitStatus(writeErr error) error {
	go func() { // drain, so that the reader goroutine can reach cmd.Wait.
		for range w.lines {
		}
	}()
	select {
	case err := <-w.done:
		if err == nil {
			err = fmt.Errorf("exit status 0")
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && strings.Contains(exit.String(), "killed") {
			err = fmt.Errorf("%w (SIGKILL: on Linux usually the kernel's out-of-memory killer; see dmesg)", err)
		}
		w.exited = err
		return err
	case <-time.After(5 * time.Second):
		if writeErr != nil {
			return writeErr
		}
		return fmt.Errorf("its output ended")
	}
}

// close asks the worker to quit and waits for it (killing it after a grace period).
func (w *worker) close() {
	if w.cmd.ProcessState != nil {
		return
	}
	_, _ = fmt.Fprintf(w.stdin, "{\"cmd\": \"quit\"}\n")
	_ = w.stdin.Close()
	go func() { // drain: the reader goroutine blocks on w.lines otherwise.
		for range w.lines {
		}
	}()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		w.kill()
	}
}

// kill stops the worker process (only the one this package started).
func (w *worker) kill() {
	if w.cmd.Process != nil {
		_ = w.cmd.Process.Kill()
	}
}
