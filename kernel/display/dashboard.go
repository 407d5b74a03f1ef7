package display

import (
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/advlab/advlab/lib/progress"
	"github.com/advlab/advlab/lib/viz"
	"github.com/janpfeifer/gonb/gonbui"
)

// Scalar is a named number shown on the progress line, such as a loss; it is
// progress.Scalar, so that notebooks need not import lib/progress.
type Scalar = progress.Scalar

// DefaultDashboardInterval is the least time between two renderings of a
// Dashboard: at most two per second.
const DefaultDashboardInterval = 500 * time.Millisecond

// Size of each dashboard chart, in points.
const (
	dashboardChartWidth  = 360.0
	dashboardChartHeight = 240.0
)

// Update is one report from a training loop to a Dashboard. Fields left at
// their zero value (nil Grid, nil Charts, nil Scalars) keep what the previous
// Update showed, so a loop can send scalars every step and a new sample grid
// only now and then.
type Update struct {
	// Step is the number of steps done; Total the number in the whole run
	// (zero when unknown).
	Step, Total int
	// StartStep is the step this run resumed from (zero for a fresh run);
	// the rate counts only the steps of this run.
	StartStep int
	// Elapsed is the wall time of this run. Zero means the time since
	// NewDashboard.
	Elapsed time.Duration
	// Scalars are shown in this order after the progress, e.g. d_loss, g_loss.
	Scalars []Scalar
	// Grid is the latest sample grid (see viz.Grid).
	Grid image.Image
	// Charts are the curves to show, e.g. the losses so far. The Dashboard
	// renders them when it draws, so a chart may be the same *viz.Chart
	// whose series the loop extends between Updates (from the same
	// goroutine that calls Update).
	Charts []*viz.Chart
}

// Dashboard is one notebook output that a training loop updates in place: a
// title, the latest sample grid, the charts and a progress line ("step
// 120/1000  12.0 it/s  ETA 1m13s  d_loss=0.51 g_loss=1.2").
//
// Update renders at most once per Interval, except for the final step; Done
// renders the latest state whatever the time. Rendering (PNG and SVG
// encoding) happens inside Update and Done, on the caller's goroutine, so a
// throttled Update costs almost nothing. A Dashboard is safe for use by
// several goroutines.
//
// Outside a notebook a Dashboard from NewDashboard does nothing; one from
// NewDashboardTo prints progress lines to its writer instead.
type Dashboard struct {
	// Interval is the least time between two renderings; set it before the
	// first Update. NewDashboard sets DefaultDashboardInterval.
	Interval time.Duration

	mu         sync.Mutex
	title      string
	displayID  string                // GoNB output block updated in place.
	show       func(id, html string) // gonbui.UpdateHTML in a notebook; nil when off.
	terminal   io.Writer             // Writer for progress lines outside a notebook.
	bar        *progress.Bar         // Created at the first Update for terminal.
	now        func() time.Time      // The clock; replaced by tests.
	start      time.Time             // Time of NewDashboard.
	latest     Update                // Merged state of all Updates so far.
	gridSource string                // Data URI of latest.Grid, encoded once per grid.
	pending    bool                  // An Update arrived since the last rendering.
	rendered   bool                  // At least one rendering happened.
	lastRender time.Time
	renders    int // Number of renderings, for tests.
}

// NewDashboard returns a dashboard whose output appears below the running
// cell, titled title. Outside a notebook it does nothing.
func NewDashboard(title string) *Dashboard {
	return NewDashboardTo(nil, title)
}

// NewDashboardTo is NewDashboard that, outside a notebook, prints the title
// and then progress lines to out (a terminal or a log), rate-limited as the
// notebook output is; a nil out prints nothing.
func NewDashboardTo(out io.Writer, title string) *Dashboard {
	var show func(id, html string)
	if gonbui.IsNotebook {
		show, out = gonbui.UpdateHTML, nil
	}
	return newDashboard(title, show, out, time.Now)
}

// newDashboard is NewDashboardTo with the output function and clock given.
func newDashboard(title string, show func(id, html string), out io.Writer, now func() time.Time) *Dashboard {
	d := &Dashboard{
		Interval:  DefaultDashboardInterval,
		title:     title,
		show:      show,
		terminal:  out,
		now:       now,
		start:     now(),
		displayID: "advlab_dashboard_" + gonbui.UniqueId(),
	}
	if out != nil && title != "" {
		fmt.Fprintln(out, title)
	}
	return d
}

// Update records the latest state of the training loop and redraws the
// dashboard if Interval has passed since the last drawing or this is the
// final step (Step >= Total > 0).
func (d *Dashboard) Update(u Update) {
	if d == nil || (d.show == nil && d.terminal == nil) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.terminal != nil {
		d.updateTerminalLocked(u)
		return
	}
	d.mergeLocked(u)
	now := d.now()
	final := u.Total > 0 && u.Step >= u.Total
	if d.rendered && !final && now.Sub(d.lastRender) < d.Interval {
		d.pending = true
		return
	}
	d.renderLocked(now)
}

// Done draws the latest state if the last Update was not drawn yet. Call it
// when the loop ends, normally or by an interrupt, so that the output shows
// where training stopped.
func (d *Dashboard) Done() {
	if d == nil || (d.show == nil && d.terminal == nil) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.terminal != nil {
		if d.bar != nil {
			d.bar.Done()
		}
		return
	}
	if d.pending || !d.rendered {
		d.renderLocked(d.now())
	}
	flush()
}

// mergeLocked folds u into d.latest, keeping the fields u leaves empty.
func (d *Dashboard) mergeLocked(u Update) {
	if u.Elapsed == 0 {
		u.Elapsed = d.now().Sub(d.start)
	}
	if u.Scalars == nil {
		u.Scalars = d.latest.Scalars
	} else {
		u.Scalars = append([]Scalar(nil), u.Scalars...)
	}
	if u.Grid == nil {
		u.Grid = d.latest.Grid
	} else {
		d.gridSource = "" // Encode the new grid at the next rendering.
	}
	if u.Charts == nil {
		u.Charts = d.latest.Charts
	}
	d.latest = u
}

// renderLocked draws d.latest into the notebook output; d.mu must be held.
func (d *Dashboard) renderLocked(now time.Time) {
	u := d.latest
	if u.Grid != nil && d.gridSource == "" {
		if data, err := viz.EncodePNG(u.Grid); err == nil {
			d.gridSource = "data:image/png;base64," + base64.StdEncoding.EncodeToString(data)
		}
	}
	charts := make([]string, len(u.Charts))
	for i, chart := range u.Charts {
		if chart == nil {
			continue
		}
		svg, err := chart.SVG(dashboardChartWidth, dashboardChartHeight)
		if err != nil {
			charts[i] = fmt.Sprintf(`<pre style="color:#b00">%s</pre>`, html.EscapeString(err.Error()))
			continue
		}
		charts[i] = inlineSVG(svg)
	}
	status := progress.Status{
		Step: u.Step, Total: u.Total, StartStep: u.StartStep,
		Elapsed: u.Elapsed, Scalars: u.Scalars,
	}
	d.show(d.displayID, dashboardHTML(d.title, d.gridSource, charts, progress.Line(status)))
	d.rendered, d.pending, d.lastRender = true, false, now
	d.renders++
}

// updateTerminalLocked passes u on to the terminal progress bar.
func (d *Dashboard) updateTerminalLocked(u Update) {
	if d.bar == nil {
		d.bar = progress.NewBar(d.terminal, u.Total)
		d.bar.Interval = d.Interval
		d.bar.StartStep = u.StartStep
	}
	if u.Scalars == nil {
		u.Scalars = d.latest.Scalars
	}
	d.latest.Scalars = u.Scalars
	d.bar.Update(u.Step, u.Scalars...)
}

// dashboardHTML lays out a dashboard: the title, then the sample grid (an
// image data URI; empty for none) beside the charts (inline SVG or HTML
// fragments), then the progress line. Title and progress are escaped.
func dashboardHTML(title, gridSource string, charts []string, progressLine string) string {
	var b strings.Builder
	b.WriteString(`<div class="advlab-dashboard" style="font-family:sans-serif">`)
	if title != "" {
		fmt.Fprintf(&b, `<div style="font-weight:bold;margin-bottom:4px">%s</div>`, html.EscapeString(title))
	}
	b.WriteString(`<div style="display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start">`)
	if gridSource != "" {
		fmt.Fprintf(&b, `<img src="%s" alt="samples" style="image-rendering:pixelated;min-width:256px">`, gridSource)
	}
	for _, chart := range charts {
		if chart != "" {
			fmt.Fprintf(&b, `<div>%s</div>`, chart)
		}
	}
	b.WriteString(`</div>`)
	fmt.Fprintf(&b, `<pre style="margin:4px 0">%s</pre>`, html.EscapeString(progressLine))
	b.WriteString(`</div>`)
	return b.String()
}
