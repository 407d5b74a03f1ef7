// Package progress formats and prints the progress of a long loop for a
// terminal or a log: "step 120/1000  12.0 it/s  ETA 1m13s  d_loss=0.51 g_loss=1.2".
//
// Line formats one such line (the notebook dashboard in kernel/display uses
// it too); Bar prints lines to a writer at most a few times per second.
package progress

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Scalar is one named number shown after the progress, such as a loss.
type Scalar struct {
	// Name is printed before the value, as name=value.
	Name string
	// Value is printed with 4 significant digits.
	Value float64
}

// Sorted returns the entries of m as Scalars sorted by name, for callers
// that keep their metrics in a map.
func Sorted(m map[string]float64) []Scalar {
	scalars := make([]Scalar, 0, len(m))
	for name, value := range m {
		scalars = append(scalars, Scalar{Name: name, Value: value})
	}
	sort.Slice(scalars, func(i, j int) bool { return scalars[i].Name < scalars[j].Name })
	return scalars
}

// Status is what one progress line reports.
type Status struct {
	// Step is the number of steps done so far.
	Step int
	// Total is the number of steps of the whole run; zero or negative when
	// unknown (the line then has no total and no ETA).
	Total int
	// StartStep is the step this run started from: zero for a fresh run, the
	// checkpoint's step after a resume. The rate counts Step-StartStep steps.
	StartStep int
	// Elapsed is the wall time since this run started.
	Elapsed time.Duration
	// Scalars are printed in order after the timing.
	Scalars []Scalar
	// TimeLeft, when positive, is a time budget left to the run (a training-time limit): the
	// run ends by then at the latest, so the ETA is at most TimeLeft.
	TimeLeft time.Duration
}

// Rate returns the steps per second of this run, or 0 when it cannot be
// measured yet.
func (s Status) Rate() float64 {
	done := s.Step - s.StartStep
	if done <= 0 || s.Elapsed <= 0 {
		return 0
	}
	return float64(done) / s.Elapsed.Seconds()
}

// ETA returns the estimated time left, and false when it is unknown (no
// total, or no rate yet).
func (s Status) ETA() (time.Duration, bool) {
	rate := s.Rate()
	if s.Total <= 0 {
		return 0, false
	}
	if s.Step >= s.Total {
		return 0, true
	}
	if rate == 0 {
		return 0, false
	}
	eta := time.Duration(float64(s.Total-s.Step) / rate * float64(time.Second))
	if s.TimeLeft > 0 && s.TimeLeft < eta {
		eta = s.TimeLeft
	}
	return eta, true
}

// Line formats s as one line without a newline, for example
// "step 120/1000  12.0 it/s  ETA 1m13s  d_loss=0.51 g_loss=1.2".
// A finished run shows its elapsed time instead of the ETA.
func Line(s Status) string {
	var b strings.Builder
	if s.Total > 0 {
		fmt.Fprintf(&b, "step %d/%d", s.Step, s.Total)
	} else {
		fmt.Fprintf(&b, "step %d", s.Step)
	}
	if rate := s.Rate(); rate > 0 {
		b.WriteString("  " + formatRate(rate))
	}
	if s.Total > 0 && s.Step >= s.Total {
		b.WriteString("  took " + formatDuration(s.Elapsed))
	} else if eta, ok := s.ETA(); ok {
		b.WriteString("  ETA " + formatDuration(eta))
	}
	for i, scalar := range s.Scalars {
		if i == 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, " %s=%.4g", scalar.Name, scalar.Value)
	}
	return b.String()
}

// formatRate prints steps per second with three significant figures, or
// seconds per step when steps are slower than one per second.
func formatRate(rate float64) string {
	switch {
	case rate >= 100:
		return fmt.Sprintf("%.0f it/s", rate)
	case rate >= 10:
		return fmt.Sprintf("%.1f it/s", rate)
	case rate >= 1:
		return fmt.Sprintf("%.2f it/s", rate)
	}
	return fmt.Sprintf("%.2f s/it", 1/rate)
}

// formatDuration rounds d to whole seconds (tenths under ten seconds).
func formatDuration(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// DefaultInterval is the least time between two lines printed by a Bar.
const DefaultInterval = 500 * time.Millisecond

// Bar prints progress lines to a writer, at most one per Interval except
// for the last step. On a terminal each line overwrites the previous one
// (carriage return); elsewhere (a log file, a pipe) each is a new line. A
// Bar is safe for use by several goroutines.
type Bar struct {
	// Interval is the least time between two printed lines; set it before
	// the first Update. NewBar sets DefaultInterval.
	Interval time.Duration
	// StartStep is the step this run starts from (see Status.StartStep);
	// set it before the first Update when resuming from a checkpoint.
	StartStep int

	mu          sync.Mutex
	out         io.Writer
	total       int
	overwrite   bool
	start       time.Time
	lastPrint   time.Time
	printed     bool
	lastWidth   int
	lastStatus  Status
	timeLeft    time.Duration
	pendingLine bool
	now         func() time.Time
}

// NewBar returns a Bar for a run of total steps (zero when unknown) that
// prints to out, and starts its clock. Lines overwrite each other when out
// is a terminal.
func NewBar(out io.Writer, total int) *Bar {
	return &Bar{
		Interval:  DefaultInterval,
		out:       out,
		total:     total,
		overwrite: isTerminal(out),
		start:     time.Now(),
		now:       time.Now,
	}
}

// Update records that step steps are done, with the latest scalars, and
// prints a line if Interval has passed since the last one or the run is
// finished (step >= total).
func (b *Bar) Update(step int, scalars ...Scalar) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.lastStatus = Status{
		Step: step, Total: b.total, StartStep: b.StartStep,
		Elapsed: now.Sub(b.start), Scalars: append([]Scalar(nil), scalars...), TimeLeft: b.timeLeft,
	}
	final := b.total > 0 && step >= b.total
	if b.printed && !final && now.Sub(b.lastPrint) < b.Interval {
		b.pendingLine = true
		return
	}
	b.printLocked(now)
}

// SetTimeLeft sets the time budget the run has left (see Status.TimeLeft) for the next lines.
func (b *Bar) SetTimeLeft(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timeLeft = d
}

// Done prints the latest state if it was not printed yet and ends the line.
// Call it once when the loop ends, also when it was interrupted.
func (b *Bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pendingLine || !b.printed {
		b.printLocked(b.now())
	}
	if b.overwrite {
		fmt.Fprintln(b.out)
	}
}

// printLocked writes the line for the latest status; b.mu must be held.
func (b *Bar) printLocked(now time.Time) {
	line := Line(b.lastStatus)
	if b.overwrite {
		// Blank out the rest of a longer previous line.
		padding := max(b.lastWidth-len(line), 0)
		fmt.Fprintf(b.out, "\r%s%s", line, strings.Repeat(" ", padding))
	} else {
		fmt.Fprintln(b.out, line)
	}
	b.lastWidth = len(line)
	b.lastPrint = now
	b.printed = true
	b.pendingLine = false
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	file, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := file.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
