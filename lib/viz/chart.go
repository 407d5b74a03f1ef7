package viz

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Default chart sizes, used when a size argument is zero or negative.
const (
	// DefaultChartWidth is the SVG width in points (6 inches).
	DefaultChartWidth = 432.0
	// DefaultChartHeight is the SVG height in points (4 inches).
	DefaultChartHeight = 288.0
	// DefaultChartWidthPx is the PNG width in pixels.
	DefaultChartWidthPx = 720
	// DefaultChartHeightPx is the PNG height in pixels.
	DefaultChartHeightPx = 480
	// chartPNGDPI is the resolution of PNG charts: text sizes are given in
	// points, so it sets how large the text is relative to the pixels.
	chartPNGDPI = 96
)

// Series is one curve of a Chart: a loss over steps, an accuracy over labels.
type Series struct {
	// Name is shown in the legend; an empty name leaves the series out of it.
	Name string
	// X holds the abscissas; when nil the points are at 0, 1, ..., len(Y)-1.
	X []float64
	// Y holds the ordinates, one per point.
	Y []float64
	// Std, optional, holds one standard deviation per point: the chart then
	// draws a translucent band from Y-Std to Y+Std around the curve, as in
	// "mean ± std over seeds" plots of active-learning papers.
	Std []float64
}

// Bars are the bars of a bar chart (a histogram of predicted classes, say):
// bar i has height Values[i] and the label Labels[i] under it, and sits at
// x = i, so that Series drawn on the same chart use bar indices as X.
type Bars struct {
	// Labels name the bars, one per value.
	Labels []string
	// Values are the bar heights.
	Values []float64
}

// Chart describes a line chart (Series) or a bar chart (Bars), or both, and
// renders it with gonum.org/v1/plot to SVG or PNG. The fonts are the
// Liberation fonts compiled into gonum's plot, so rendering needs no font
// files and no network.
//
// Points whose X or Y is not finite (a NaN loss) are skipped; with LogY,
// points with Y <= 0 are skipped too.
type Chart struct {
	// Title is drawn above the chart.
	Title string
	// XLabel and YLabel name the axes.
	XLabel, YLabel string
	// Series are the curves, drawn in order with the colours of
	// matplotlib's "tab10" cycle.
	Series []Series
	// LogY draws the Y axis on a logarithmic scale. A band whose lower edge
	// would be at or below zero is drawn mirrored in log space instead
	// (lower = Y²/(Y+Std)). A bar chart cannot use LogY.
	LogY bool
	// LogX draws the X axis on a logarithmic scale (points with X <= 0 are skipped); a bar chart
	// cannot use it.
	LogX bool
	// Bars, when set, makes this a bar chart; see BarChart.
	Bars *Bars
}

// BarChart returns a chart with one bar per label, for example the number of
// generated samples classified as each digit (mode collapse shows up as a few
// tall bars).
func BarChart(title string, labels []string, values []float64) *Chart {
	return &Chart{Title: title, Bars: &Bars{Labels: labels, Values: values}}
}

// seriesColors is matplotlib's "tab10" colour cycle.
var seriesColors = []color.NRGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
	{0x17, 0xbe, 0xcf, 0xff},
}

// bandAlpha is the opacity of the mean ± std bands.
const bandAlpha = 0x40

// SVG renders the chart as an SVG document of width x height points (1/72
// inch; 432 x 288 is 6 x 4 inches). Zero or negative sizes take the defaults
// DefaultChartWidth and DefaultChartHeight.
func (c *Chart) SVG(width, height float64) ([]byte, error) {
	if width <= 0 || height <= 0 {
		width, height = DefaultChartWidth, DefaultChartHeight
	}
	p, err := c.build(vg.Points(width), vg.Points(height))
	if err != nil {
		return nil, err
	}
	canvas := vgsvg.New(vg.Points(width), vg.Points(height))
	if err := drawPlot(p, draw.New(canvas)); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("viz: writing SVG chart: %w", err)
	}
	return buf.Bytes(), nil
}

// PNG renders the chart as a PNG image of exactly widthPx x heightPx pixels
// at 96 dots per inch. Zero or negative sizes take the defaults
// DefaultChartWidthPx and DefaultChartHeightPx.
func (c *Chart) PNG(widthPx, heightPx int) ([]byte, error) {
	if widthPx <= 0 || heightPx <= 0 {
		widthPx, heightPx = DefaultChartWidthPx, DefaultChartHeightPx
	}
	img, err := c.Image(widthPx, heightPx)
	if err != nil {
		return nil, err
	}
	return EncodePNG(img)
}

// Image renders the chart into an image of widthPx x heightPx pixels at 96
// dots per inch, for composing it with other images.
func (c *Chart) Image(widthPx, heightPx int) (image.Image, error) {
	if widthPx <= 0 || heightPx <= 0 {
		return nil, fmt.Errorf("viz: chart image size %dx%d must be positive", widthPx, heightPx)
	}
	canvas := vgimg.NewWith(
		vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, widthPx, heightPx))),
		vgimg.UseDPI(chartPNGDPI))
	p, err := c.build(canvas.Size())
	if err != nil {
		return nil, err
	}
	if err := drawPlot(p, draw.New(canvas)); err != nil {
		return nil, err
	}
	return canvas.Image(), nil
}

// drawPlot draws p on canvas, turning a panic of gonum's plot (it panics on
// data it cannot scale) into an error, so that a chart of odd data cannot
// stop a training loop.
func drawPlot(p *plot.Plot, canvas draw.Canvas) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("viz: drawing chart %q: %v", p.Title.Text, r)
		}
	}()
	p.Draw(canvas)
	return nil
}

// Save writes the chart to path in the format its extension names: ".svg"
// (default size in points) or ".png" (default size in pixels). The file is
// replaced atomically.
func (c *Chart) Save(path string) error {
	var data []byte
	var err error
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".svg":
		data, err = c.SVG(0, 0)
	case ".png":
		data, err = c.PNG(0, 0)
	default:
		return fmt.Errorf("viz: saving chart %s: unknown extension %q, want .svg or .png", path, ext)
	}
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// build makes the gonum plot of the chart for a canvas of the given size.
func (c *Chart) build(width, height vg.Length) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	p.Legend.Top = true
	p.Legend.XOffs = -vg.Points(6) // Keep the legend off the right edge.
	p.Add(plotter.NewGrid())
	if c.LogY {
		if c.Bars != nil {
			return nil, fmt.Errorf("viz: chart %q: a bar chart cannot use LogY", c.Title)
		}
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks125{}
	}
	if c.LogX {
		if c.Bars != nil {
			return nil, fmt.Errorf("viz: chart %q: a bar chart cannot use LogX", c.Title)
		}
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicksAtData{c.Series}
	}
	if c.Bars != nil {
		if err := c.addBars(p, width); err != nil {
			return nil, err
		}
	}
	legendEntries := 0
	for i, series := range c.Series {
		named, err := c.addSeries(p, series, seriesColors[i%len(seriesColors)])
		if err != nil {
			return nil, fmt.Errorf("viz: chart %q, series %d (%q): %w", c.Title, i, series.Name, err)
		}
		if named {
			legendEntries++
		}
	}
	if c.LogY && !(p.Y.Min > 0 && p.Y.Min <= p.Y.Max) {
		p.Y.Min, p.Y.Max = 1, 10 // No positive data yet: a log axis needs some range.
	}
	if c.LogX && !(p.X.Min > 0 && p.X.Min <= p.X.Max) {
		p.X.Min, p.X.Max = 1, 10
	}
	c.makeRoomForLegend(p, legendEntries, height)
	return p, nil
}

// makeRoomForLegend raises the top of the Y axis so that the legend, drawn
// in the top right corner, sits above the data instead of over it.
func (c *Chart) makeRoomForLegend(p *plot.Plot, entries int, height vg.Length) {
	if entries == 0 || !(p.Y.Min < p.Y.Max) {
		return
	}
	// Legend height over the height of the plotting area (less title and X axis).
	legend := vg.Length(entries)*(p.Legend.TextStyle.Height("M")+p.Legend.Padding) + vg.Points(4)
	fraction := float64(legend / max(height-vg.Points(60), vg.Points(1)))
	fraction = min(fraction, 0.5)
	if c.LogY {
		logMin, logMax := math.Log10(p.Y.Min), math.Log10(p.Y.Max)
		p.Y.Max = math.Pow(10, logMax+(logMax-logMin)*fraction/(1-fraction))
		return
	}
	p.Y.Max += (p.Y.Max - p.Y.Min) * fraction / (1 - fraction)
}

// addBars adds the bars and their labels to p.
func (c *Chart) addBars(p *plot.Plot, width vg.Length) error {
	bars := c.Bars
	if len(bars.Labels) != len(bars.Values) {
		return fmt.Errorf("viz: bar chart %q: %d labels for %d values", c.Title, len(bars.Labels), len(bars.Values))
	}
	if len(bars.Values) == 0 {
		return nil
	}
	for i, v := range bars.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("viz: bar chart %q: value %d (%s) is %v", c.Title, i, bars.Labels[i], v)
		}
	}
	// About 70% of the plotting width (the canvas less the axes) is bars.
	barWidth := max((width-vg.Points(60))*0.7/vg.Length(len(bars.Values)), vg.Points(1))
	chart, err := plotter.NewBarChart(plotter.Values(bars.Values), barWidth)
	if err != nil {
		return fmt.Errorf("viz: bar chart %q: %w", c.Title, err)
	}
	chart.Color = seriesColors[0]
	chart.LineStyle.Width = 0
	p.Add(chart)
	p.NominalX(bars.Labels...)
	p.X.Min, p.X.Max = -0.5, float64(len(bars.Values))-0.5 // Half a slot beside the outer bars.
	return nil
}

// addSeries adds one curve, and its band when it has Std, to p. It reports
// whether the curve got a legend entry.
func (c *Chart) addSeries(p *plot.Plot, series Series, lineColor color.NRGBA) (named bool, err error) {
	if series.X != nil && len(series.X) != len(series.Y) {
		return false, fmt.Errorf("%d X values for %d Y values", len(series.X), len(series.Y))
	}
	if series.Std != nil && len(series.Std) != len(series.Y) {
		return false, fmt.Errorf("%d Std values for %d Y values", len(series.Std), len(series.Y))
	}
	var line plotter.XYs
	var upper, lower plotter.XYs
	for i, y := range series.Y {
		x := float64(i)
		if series.X != nil {
			x = series.X[i]
		}
		if !finite(x) || !finite(y) || (c.LogY && y <= 0) || (c.LogX && x <= 0) {
			continue
		}
		line = append(line, plotter.XY{X: x, Y: y})
		if series.Std == nil || !finite(series.Std[i]) {
			continue
		}
		std := math.Abs(series.Std[i])
		low := y - std
		if c.LogY && low <= 0 {
			low = y * y / (y + std) // Mirror of the upper edge in log space.
		}
		upper = append(upper, plotter.XY{X: x, Y: y + std})
		lower = append(lower, plotter.XY{X: x, Y: low})
	}
	if len(line) == 0 {
		return false, nil // Nothing to draw (yet): an empty series is not an error.
	}

	if len(upper) >= 2 {
		// The band is one polygon: along the upper edge, back along the lower.
		ring := append(plotter.XYs{}, upper...)
		for i := len(lower) - 1; i >= 0; i-- {
			ring = append(ring, lower[i])
		}
		band, err := plotter.NewPolygon(ring)
		if err != nil {
			return false, err
		}
		band.Color = color.NRGBA{lineColor.R, lineColor.G, lineColor.B, bandAlpha}
		band.LineStyle.Width = 0
		p.Add(band)
	}

	curve, err := plotter.NewLine(line)
	if err != nil {
		return false, err
	}
	curve.LineStyle.Color = lineColor
	curve.LineStyle.Width = vg.Points(1.5)
	p.Add(curve)
	if series.Name == "" {
		return false, nil
	}
	p.Legend.Add(series.Name, curve)
	return true, nil
}

// logTicksAtData labels a logarithmic X axis at the series' own abscissas (a batch of 16, 32, 64,
// ...), which a decade-based axis would leave unlabelled; with more than 12 of them it falls back
// to logTicks125.
type logTicksAtData struct{ series []Series }

func (t logTicksAtData) Ticks(min, max float64) []plot.Tick {
	seen := map[float64]bool{}
	var ticks []plot.Tick
	for _, s := range t.series {
		for _, x := range s.X {
			if finite(x) && x > 0 && x >= min && x <= max && !seen[x] {
				seen[x] = true
				ticks = append(ticks, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'g', -1, 64)})
			}
		}
	}
	if len(ticks) == 0 || len(ticks) > 12 {
		return logTicks125{}.Ticks(min, max)
	}
	return ticks
}

// logTicks125 labels a logarithmic axis at 1, 2 and 5 times the powers of ten, or at 1 to 9 times
// them where fewer than three of those fall in the range (and finer steps where even those do not): plot.LogTicks labels the powers of ten
// only, and leaves an axis from 15% to 30% without a single number.
type logTicks125 struct{}

func (logTicks125) Ticks(min, max float64) []plot.Tick {
	if !(min > 0 && min < max) || !finite(min) || !finite(max) {
		return plot.LogTicks{Prec: -1}.Ticks(min, max)
	}
	at := func(mantissas []float64) []plot.Tick {
		var ticks []plot.Tick
		for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
			for _, m := range mantissas {
				v := m * math.Pow(10, e)
				if v >= min*(1-1e-9) && v <= max*(1+1e-9) {
					ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 3, 64)})
				}
			}
		}
		return ticks
	}
	if ticks := at([]float64{1, 2, 5}); len(ticks) >= 3 {
		return ticks
	}
	if ticks := at([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9}); len(ticks) >= 3 {
		return ticks
	}
	return at([]float64{1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9})
}

// ChartRow renders charts side by side into one image, each widthPx x heightPx pixels at 96 dots
// per inch (a figure of several panels, as the benchmark's scaling plot).
func ChartRow(charts []*Chart, widthPx, heightPx int) (image.Image, error) {
	if len(charts) == 0 {
		return nil, fmt.Errorf("viz: a chart row needs at least one chart")
	}
	row := image.NewRGBA(image.Rect(0, 0, widthPx*len(charts), heightPx))
	for i, c := range charts {
		img, err := c.Image(widthPx, heightPx)
		if err != nil {
			return nil, err
		}
		stddraw.Draw(row, image.Rect(i*widthPx, 0, (i+1)*widthPx, heightPx), img, img.Bounds().Min, stddraw.Src)
	}
	return row, nil
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}
