// Package display shows advlab's pictures inside a GoNB (Go kernel for
// Jupyter) notebook: images, image grids, charts, Markdown and HTML, a live
// training dashboard that updates one output in place, and a context that an
// "Interrupt kernel" cancels.
//
// Every function does nothing outside a notebook (when the program was not
// started by GoNB; see gonbui.IsNotebook), so library code and tests can call
// them freely. The pictures themselves come from lib/viz.
package display

import (
	"bytes"
	"fmt"
	"html"
	"image"

	"github.com/advlab/advlab/lib/viz"
	"github.com/janpfeifer/gonb/gonbui"
)

// Inline chart size in points (1/72 inch) for Chart.
const (
	chartWidth  = 432.0
	chartHeight = 288.0
)

// IsNotebook reports whether the program runs as a GoNB notebook cell.
func IsNotebook() bool { return gonbui.IsNotebook }

// Image shows img as a PNG in the cell's output.
func Image(img image.Image) {
	if !gonbui.IsNotebook {
		return
	}
	data, err := viz.EncodePNG(img)
	if err != nil {
		showError(err)
		return
	}
	PNG(data)
}

// PNG shows an encoded PNG image in the cell's output.
func PNG(data []byte) {
	gonbui.DisplayPng(data)
	flush()
}

// SVG shows an SVG document in the cell's output, inline in the HTML so that
// it survives exporting the notebook to HTML.
func SVG(svg []byte) {
	if !gonbui.IsNotebook {
		return
	}
	HTML("<div>" + inlineSVG(svg) + "</div>")
}

// Markdown shows Markdown text (with $LaTeX$ formulas) in the cell's output.
func Markdown(markdown string) {
	gonbui.DisplayMarkdown(markdown)
	flush()
}

// HTML shows an HTML fragment in the cell's output.
func HTML(fragment string) {
	gonbui.DisplayHTML(fragment)
	flush()
}

// flush waits until GoNB has taken everything sent so far: a cell's program that exits right
// after displaying something could otherwise lose that output (GoNB reads its pipe
// asynchronously). A no-op outside a notebook.
func flush() {
	gonbui.Sync()
}

// Grid lays out n NHWC images as viz.Grid does and shows the grid. It
// returns viz.Grid's error for inconsistent sizes, also outside a notebook.
func Grid(images []float32, n, height, width, channels int, opts viz.GridOptions) error {
	grid, err := viz.Grid(images, n, height, width, channels, opts)
	if err != nil {
		return err
	}
	Image(grid)
	return nil
}

// Chart renders c as an SVG of 6 x 4 inches and shows it inline. It returns
// the chart's rendering error (mismatched series lengths, say), also outside
// a notebook.
func Chart(c *viz.Chart) error {
	svg, err := c.SVG(chartWidth, chartHeight)
	if err != nil {
		return err
	}
	SVG(svg)
	return nil
}

// inlineSVG returns an SVG document without its XML declaration and leading
// comments, ready to embed in HTML.
func inlineSVG(svg []byte) string {
	if start := bytes.Index(svg, []byte("<svg")); start >= 0 {
		svg = svg[start:]
	}
	return string(svg)
}

// showError shows err in red in the cell's output.
func showError(err error) {
	gonbui.DisplayHTML(fmt.Sprintf(`<pre style="color:#b00">%s</pre>`, html.EscapeString(err.Error())))
}
