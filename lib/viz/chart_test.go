package viz

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// lossChart is a chart with two named curves, one with a band.
func lossChart() *Chart {
	steps := []float64{0, 100, 200, 300, 400}
	return &Chart{
		Title:  "GAN losses",
		XLabel: "step",
		YLabel: "loss",
		Series: []Series{
			{Name: "d_loss", X: steps, Y: []float64{1.4, 1.1, 0.9, 0.8, 0.75}, Std: []float64{0.2, 0.15, 0.1, 0.1, 0.05}},
			{Name: "g_loss", X: steps, Y: []float64{0.7, 1.2, 1.6, math.NaN(), 1.9}},
		},
	}
}

func TestChartSVGHasNamesAndBand(t *testing.T) {
	svg, err := lossChart().SVG(400, 300)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(svg)
	for _, want := range []string{"d_loss", "g_loss", "GAN losses", "step", `width="400pt"`, `height="300pt"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// The band is a closed filled path in the first series' blue (#1f77b4,
	// give or take the rounding of premultiplied alpha) at opacity 0x40/255.
	band := regexp.MustCompile(`<path d="M[^"]*Z" style="fill:#1[EF]7[67]B[34];fill-opacity:0\.25`)
	if !band.MatchString(doc) {
		t.Errorf("SVG has no translucent filled band path; got:\n%s", firstLines(doc, 40))
	}
}

func TestChartPNGSize(t *testing.T) {
	data, err := lossChart().PNG(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != image.Pt(640, 360) {
		t.Fatalf("PNG size %v, want 640x360", got)
	}
	// The title is drawn with gonum's embedded fonts: the top band holds dark text pixels.
	dark := 0
	for y := range 30 {
		for x := range 640 {
			if r, g, b, _ := img.At(x, y).RGBA(); r < 0x4000 && g < 0x4000 && b < 0x4000 {
				dark++
			}
		}
	}
	if dark < 20 {
		t.Errorf("only %d dark pixels in the title area: text did not render", dark)
	}
}

func TestChartLogYAndBars(t *testing.T) {
	logChart := &Chart{Title: "log", LogY: true, Series: []Series{
		{Name: "kl", Y: []float64{100, 10, 1, 0, 0.1}, Std: []float64{50, 20, 2, 0, 0.05}},
	}}
	if _, err := logChart.SVG(0, 0); err != nil {
		t.Errorf("log chart with a zero point and wide bands: %v", err)
	}
	bars := BarChart("predicted classes", []string{"0", "1", "2"}, []float64{30, 2, 68})
	svg, err := bars.SVG(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), "predicted classes") || !strings.Contains(string(svg), ">2<") {
		t.Error("bar chart SVG lacks its title or labels")
	}
	if _, err := BarChart("bad", []string{"a"}, []float64{1, 2}).SVG(0, 0); err == nil {
		t.Error("bar chart with 1 label for 2 values succeeded, want an error")
	}
	bars.LogY = true
	if _, err := bars.SVG(0, 0); err == nil {
		t.Error("bar chart with LogY succeeded, want an error")
	}
	mismatched := &Chart{Series: []Series{{X: []float64{1, 2}, Y: []float64{1}}}}
	if _, err := mismatched.SVG(0, 0); err == nil {
		t.Error("series with 2 X for 1 Y succeeded, want an error")
	}
	if _, err := (&Chart{Title: "empty"}).PNG(100, 80); err != nil {
		t.Errorf("empty chart: %v", err)
	}
	// A log chart with nothing positive to show yet still renders (an empty axis).
	noPositive := &Chart{LogY: true, Series: []Series{{Name: "kl", Y: []float64{0, -1}}}}
	if _, err := noPositive.PNG(100, 80); err != nil {
		t.Errorf("log chart without positive values: %v", err)
	}
}

func TestChartSaveByExtension(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"loss.svg", "loss.png"} {
		path := filepath.Join(dir, name)
		if err := lossChart().Save(path); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		isPNG := bytes.HasPrefix(data, []byte("\x89PNG"))
		if isPNG != strings.HasSuffix(name, ".png") {
			t.Errorf("%s: PNG signature %v", name, isPNG)
		}
	}
	if err := lossChart().Save(filepath.Join(dir, "loss.jpg")); err == nil {
		t.Error("Save(.jpg) succeeded, want an error")
	}
}

// firstLines returns the first n lines of s, for error messages.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func TestChartLogXAndRow(t *testing.T) {
	scaling := &Chart{Title: "step time", LogX: true, LogY: true, Series: []Series{
		{Name: "go", X: []float64{16, 32, 64, 128, 256}, Y: []float64{0.5, 1, 2, 4, 8}},
		{Name: "torch", X: []float64{0, 32, 64}, Y: []float64{0.1, 0.2, 0.4}}, // x = 0 is skipped
	}}
	svg, err := scaling.SVG(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The X axis is labelled at the data's abscissas (batches), not only at decades.
	for _, label := range []string{">16<", ">32<", ">128<", ">256<"} {
		if !strings.Contains(string(svg), label) {
			t.Errorf("log-X chart SVG lacks the tick label %s", label)
		}
	}
	ticks := logTicksAtData{scaling.Series}.Ticks(16, 256)
	if len(ticks) != 5 {
		t.Errorf("%d ticks at the data, want 5 (16 ... 256): %v", len(ticks), ticks)
	}
	if _, err := BarChart("b", []string{"a"}, []float64{1}).withLogX().SVG(0, 0); err == nil {
		t.Error("bar chart with LogX succeeded, want an error")
	}
	row, err := ChartRow([]*Chart{scaling, lossChart()}, 300, 200)
	if err != nil {
		t.Fatal(err)
	}
	if b := row.Bounds(); b.Dx() != 600 || b.Dy() != 200 {
		t.Errorf("row of two 300x200 charts is %dx%d, want 600x200", b.Dx(), b.Dy())
	}
	// Both halves were drawn: each has dark (text or line) pixels.
	for half := range 2 {
		dark := 0
		for y := 0; y < 200; y++ {
			for x := half * 300; x < (half+1)*300; x++ {
				if r, _, _, _ := row.At(x, y).RGBA(); r < 0x4000 {
					dark++
				}
			}
		}
		if dark < 100 {
			t.Errorf("panel %d of the row has %d dark pixels: not drawn", half, dark)
		}
	}
	if _, err := ChartRow(nil, 10, 10); err == nil {
		t.Error("empty chart row succeeded, want an error")
	}
}

func (c *Chart) withLogX() *Chart { c.LogX = true; return c }

// TestLogTicks125 checks that a logarithmic axis gets at least three labelled ticks inside its
// range however narrow (plot.LogTicks labels powers of ten only: none between 14 and 35).
func TestLogTicks125(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		want     string
	}{
		{1, 300, "1 2 5 10 20 50 100 200"},
		{14, 35, "15 17.5 20 25 30 35"},
		{12, 95, "20 30 40 50 60 70 80 90"},
		{0.8, 3, "0.8 0.9 1 2 3"},
	} {
		var labels []string
		for _, tick := range (logTicks125{}).Ticks(tc.min, tc.max) {
			if tick.Value < tc.min || tick.Value > tc.max {
				t.Errorf("[%g, %g]: tick %g outside the range", tc.min, tc.max, tick.Value)
			}
			labels = append(labels, tick.Label)
		}
		if got := strings.Join(labels, " "); got != tc.want {
			t.Errorf("[%g, %g]: ticks %q, want %q", tc.min, tc.max, got, tc.want)
		}
	}
}
