package display

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// InterruptContext returns a context that is cancelled when the program
// receives an interrupt (SIGINT, Control+C) or SIGTERM, so that a training
// loop can stop between two steps, save a checkpoint and return its state
// instead of being killed mid-step. Call the CancelFunc when the loop is
// over: it restores the default signal behaviour (a second interrupt then
// ends the program at once).
//
// How GoNB v0.11.5 interrupts a cell: its kernelspec declares
// interrupt_mode "message", so Jupyter's "Interrupt kernel" button sends an
// interrupt_request on the control channel (a SIGINT to the kernel process
// is treated the same way). GoNB runs each cell as a separate program, built
// with `go build` and executed directly, and on an interrupt sends that
// program os.Interrupt (SIGINT) with os.Process.Signal. If the program has
// not exited 5 seconds later (GoNB's jpyexec.WaitToKill) GoNB kills it.
// Hence: check ctx.Done() at least once per step, and keep what is done
// after the interrupt (saving a checkpoint, drawing the final dashboard)
// well under 5 seconds.
//
// Each cell is a new process, so state that should outlive the cell, such
// as trained weights, must go to a file (a checkpoint) before the program
// ends; the next cell loads it from there.
//
// Typical use:
//
//	ctx, stop := display.InterruptContext()
//	defer stop()
//	for step := start; step < total && ctx.Err() == nil; step++ {
//		... one training step ...
//	}
//	... save the checkpoint ...
func InterruptContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
