//go:build unix

package display

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestInterruptContextCancelsOnSIGINT(t *testing.T) {
	ctx, stop := InterruptContext()
	defer stop()
	// GoNB interrupts a cell by sending its program SIGINT.
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("context not cancelled 5 s after SIGINT")
	}
}
