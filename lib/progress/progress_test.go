package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLineFormat(t *testing.T) {
	cases := []struct {
		status Status
		want   string
	}{
		{Status{Step: 120, Total: 1000, Elapsed: 10 * time.Second,
			Scalars: []Scalar{{"d_loss", 0.51}, {"g_loss", 1.2}}},
			"step 120/1000  12.0 it/s  ETA 1m13s  d_loss=0.51 g_loss=1.2"},
		{Status{Step: 0, Total: 50}, "step 0/50"},
		{Status{Step: 3, Total: 0, Elapsed: 6 * time.Second}, "step 3  2.00 s/it"},
		// Resumed at step 5000: 200 steps in 2 s is 100 it/s, 800 left = 8 s.
		{Status{Step: 5200, Total: 6000, StartStep: 5000, Elapsed: 2 * time.Second},
			"step 5200/6000  100 it/s  ETA 8s"},
		{Status{Step: 50, Total: 50, Elapsed: 75 * time.Second, Scalars: []Scalar{{"acc", 0.98765}}},
			"step 50/50  1.50 s/it  took 1m15s  acc=0.9877"},
		// A time budget shorter than the steps' ETA is the ETA (-time-limit); a longer one is not.
		{Status{Step: 120, Total: 1000000, Elapsed: 10 * time.Second, TimeLeft: 290 * time.Second},
			"step 120/1000000  12.0 it/s  ETA 4m50s"},
		{Status{Step: 120, Total: 1000, Elapsed: 10 * time.Second, TimeLeft: time.Hour},
			"step 120/1000  12.0 it/s  ETA 1m13s"},
	}
	for _, tc := range cases {
		if got := Line(tc.status); got != tc.want {
			t.Errorf("Line(%+v)\n got %q\nwant %q", tc.status, got, tc.want)
		}
	}
}

func TestSorted(t *testing.T) {
	got := Sorted(map[string]float64{"g_loss": 2, "d_loss": 1, "acc": 0.5})
	names := []string{got[0].Name, got[1].Name, got[2].Name}
	if strings.Join(names, ",") != "acc,d_loss,g_loss" || got[1].Value != 1 {
		t.Errorf("Sorted = %v", got)
	}
}

// fakeClock is a clock that tests move by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func TestBarIsRateLimited(t *testing.T) {
	var out bytes.Buffer
	clock := &fakeClock{now: time.Unix(1000, 0)}
	bar := NewBar(&out, 100)
	bar.start, bar.now = clock.now, clock.Now

	// 100 steps, 10 ms apart: 1 s in all. With a 500 ms interval the bar
	// prints step 1, then steps 51 and 100 (the final step always prints).
	for step := 1; step <= 100; step++ {
		clock.Advance(10 * time.Millisecond)
		bar.Update(step, Scalar{"loss", 1 / float64(step)})
	}
	bar.Done()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("printed %d lines, want 3:\n%s", len(lines), out.String())
	}
	wantPrefixes := []string{"step 1/100  100 it/s", "step 51/100  100 it/s  ETA 500ms", "step 100/100  100 it/s  took 1s  loss=0.01"}
	for i, want := range wantPrefixes {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], want)
		}
	}
}

func TestBarDonePrintsPendingState(t *testing.T) {
	var out bytes.Buffer
	clock := &fakeClock{now: time.Unix(1000, 0)}
	bar := NewBar(&out, 1000)
	bar.start, bar.now = clock.now, clock.Now
	clock.Advance(time.Second)
	bar.Update(10)
	clock.Advance(100 * time.Millisecond)
	bar.Update(11, Scalar{"loss", 0.25}) // Throttled.
	if strings.Contains(out.String(), "step 11/") {
		t.Fatalf("step 11 printed within the interval:\n%s", out.String())
	}
	bar.Done() // An interrupted run: Done shows where it stopped.
	if !strings.Contains(out.String(), "step 11/1000") || !strings.Contains(out.String(), "loss=0.25") {
		t.Errorf("Done did not print the pending state:\n%s", out.String())
	}
}

func TestBarOverwritesOnTerminal(t *testing.T) {
	var out bytes.Buffer
	clock := &fakeClock{now: time.Unix(1000, 0)}
	bar := NewBar(&out, 2)
	bar.start, bar.now, bar.overwrite = clock.now, clock.Now, true
	clock.Advance(time.Second)
	bar.Update(1, Scalar{"a_long_name", 1})
	clock.Advance(time.Second)
	bar.Update(2)
	bar.Done()
	first, second := "step 1/2  1.00 it/s  ETA 1s  a_long_name=1", "step 2/2  1.00 it/s  took 2s"
	want := "\r" + first + "\r" + second + strings.Repeat(" ", len(first)-len(second)) + "\n"
	if out.String() != want {
		t.Errorf("terminal output\n got %q\nwant %q", out.String(), want)
	}
}
