package display

import (
	"bytes"
	"image"
	"image/color"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advlab/advlab/lib/viz"
)

// recorder collects what a dashboard would send to the notebook.
type recorder struct {
	mu    sync.Mutex
	ids   []string
	pages []string
}

func (r *recorder) show(id, html string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
	r.pages = append(r.pages, html)
}

// fakeClock is a clock that tests move by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func testGrid() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.SetRGBA(1, 1, color.RGBA{255, 255, 255, 255})
	return img
}

func testChart() *viz.Chart {
	return &viz.Chart{Title: "losses", Series: []viz.Series{
		{Name: "d_loss", Y: []float64{1.3, 0.9, 0.7}},
		{Name: "g_loss", Y: []float64{0.8, 1.4, 1.9}},
	}}
}

func TestDashboardHTMLHoldsGridChartsAndProgress(t *testing.T) {
	page := dashboardHTML("DCGAN <MNIST>", "data:image/png;base64,AAAA",
		[]string{`<svg width="1pt"><text>d_loss</text></svg>`}, "step 3/10  1.00 it/s  ETA 7s  d_loss=0.5")
	for _, want := range []string{
		`<img src="data:image/png;base64,AAAA"`,
		`<svg width="1pt"><text>d_loss</text></svg>`,
		"step 3/10  1.00 it/s  ETA 7s  d_loss=0.5",
		"DCGAN &lt;MNIST&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard HTML lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(dashboardHTML("", "", nil, "step 1"), "<img") {
		t.Error("dashboard without a grid has an <img>")
	}
}

func TestDashboardThrottlesAndDoneFlushes(t *testing.T) {
	rec := &recorder{}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	d := newDashboard("train", rec.show, nil, clock.Now)

	// 100 updates 10 ms apart (1 s): the first renders, then one per 500 ms.
	chart := testChart()
	for step := 1; step <= 100; step++ {
		clock.Advance(10 * time.Millisecond)
		u := Update{Step: step, Total: 1000, Scalars: []Scalar{{Name: "d_loss", Value: float64(step)}}}
		if step == 1 {
			u.Grid, u.Charts = testGrid(), []*viz.Chart{chart}
		}
		d.Update(u)
	}
	if d.renders != 2 {
		t.Fatalf("%d renderings for 100 updates in 1 s, want 2 (steps 1 and 51)", d.renders)
	}
	last := rec.pages[len(rec.pages)-1]
	if !strings.Contains(last, "step 51/1000") || !strings.Contains(last, "d_loss=51") {
		t.Errorf("second rendering is not step 51:\n%s", last)
	}
	// Grid and charts from step 1 are kept by later updates that leave them out.
	if !strings.Contains(last, "data:image/png;base64,") || !strings.Contains(last, "<svg") ||
		!strings.Contains(last, "g_loss") {
		t.Errorf("step 51 rendering lost the grid or the chart")
	}

	// Steps 52..100 were throttled: Done shows step 100.
	d.Done()
	if d.renders != 3 || !strings.Contains(rec.pages[2], "step 100/1000") || !strings.Contains(rec.pages[2], "d_loss=100") {
		t.Errorf("Done did not render the pending step 100 (renders %d)", d.renders)
	}
	d.Done() // Nothing new: no extra rendering.
	if d.renders != 3 {
		t.Errorf("second Done rendered again")
	}
	for _, id := range rec.ids {
		if id != rec.ids[0] || !strings.HasPrefix(id, "advlab_dashboard_") {
			t.Fatalf("renderings went to outputs %v, want one id", rec.ids)
		}
	}
}

func TestDashboardFinalStepRendersAtOnce(t *testing.T) {
	rec := &recorder{}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	d := newDashboard("", rec.show, nil, clock.Now)
	d.Update(Update{Step: 9, Total: 10, Elapsed: 9 * time.Second})
	clock.Advance(time.Millisecond)
	d.Update(Update{Step: 10, Total: 10, Elapsed: 10 * time.Second})
	if d.renders != 2 || !strings.Contains(rec.pages[1], "step 10/10  1.00 it/s  took 10s") {
		t.Errorf("final step not rendered at once: %d renderings, last %q", d.renders, rec.pages[len(rec.pages)-1])
	}
}

func TestDashboardIsSafeFromSeveralGoroutines(t *testing.T) {
	rec := &recorder{}
	d := newDashboard("race", rec.show, nil, time.Now)
	d.Interval = 0
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for step := range 25 {
				d.Update(Update{Step: g*25 + step, Total: 100, Charts: []*viz.Chart{testChart()}})
			}
		}()
	}
	wg.Wait()
	d.Done()
	if d.renders != 100 {
		t.Errorf("%d renderings with no interval, want 100", d.renders)
	}
}

func TestOutsideNotebookNothingHappens(t *testing.T) {
	if IsNotebook() {
		t.Skip("running inside GoNB")
	}
	d := NewDashboard("off")
	d.Update(Update{Step: 1, Total: 2, Grid: testGrid(), Charts: []*viz.Chart{testChart()}})
	d.Done()
	if d.renders != 0 {
		t.Errorf("dashboard rendered %d times outside a notebook", d.renders)
	}
	var nilDashboard *Dashboard
	nilDashboard.Update(Update{Step: 1})
	nilDashboard.Done()

	Image(testGrid())
	PNG([]byte("not a png"))
	SVG([]byte("<svg/>"))
	Markdown("# title")
	HTML("<b>x</b>")
	if err := Grid(make([]float32, 2*3*3), 2, 3, 3, 1, viz.GridOptions{}); err != nil {
		t.Errorf("Grid: %v", err)
	}
	if err := Grid(make([]float32, 5), 2, 3, 3, 1, viz.GridOptions{}); err == nil {
		t.Error("Grid with a short buffer succeeded, want an error")
	}
	if err := Chart(testChart()); err != nil {
		t.Errorf("Chart: %v", err)
	}
}

func TestDashboardToWriterPrintsProgress(t *testing.T) {
	if IsNotebook() {
		t.Skip("running inside GoNB")
	}
	var out bytes.Buffer
	d := NewDashboardTo(&out, "DCGAN")
	d.Update(Update{Step: 1, Total: 4, Scalars: []Scalar{{Name: "g_loss", Value: 1.5}}})
	d.Update(Update{Step: 2, Total: 4}) // Throttled; keeps g_loss.
	d.Done()
	text := out.String()
	for _, want := range []string{"DCGAN\n", "step 1/4", "step 2/4", "g_loss=1.5"} {
		if !strings.Contains(text, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, text)
		}
	}
	if strings.Count(text, "step 2/4") != 1 || !strings.Contains(text[strings.Index(text, "step 2/4"):], "g_loss=1.5") {
		t.Errorf("step 2 printed wrongly:\n%s", text)
	}
}

func TestInlineSVGDropsProlog(t *testing.T) {
	svg, err := testChart().SVG(100, 80)
	if err != nil {
		t.Fatal(err)
	}
	inline := inlineSVG(svg)
	if !strings.HasPrefix(inline, "<svg") || strings.Contains(inline, "<?xml") {
		t.Errorf("inline SVG starts %q", inline[:min(40, len(inline))])
	}
}
