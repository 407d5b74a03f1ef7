package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/advlab/advlab/lib/ssl"
	"github.com/advlab/advlab/lib/viz"
)

func init() {
	register("curves", "plot semi-supervised test-error curves (curve.json files) side by side", runCurves)
}

// runCurves plots the test error against the epoch of every curve file given: one panel for the
// reference's weight average (the number openai/improved-gan prints), one for advlab's average and
// one for the current weights, a line per file in each.
func runCurves(args []string) error {
	fs := newFlags("curves", "curves -out FILE.png CURVE.json [CURVE.json ...]")
	out := fs.String("out", "", "the picture to write (required): .png, three panels side by side")
	logY := fs.Bool("log-y", false, "logarithmic error axis (for curves that span the first epochs' 20% and the paper's 0.93%)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, a := range fs.Args() {
		if strings.HasPrefix(a, "-") {
			return usageError("flag %s after the curve files: put the flags first", a)
		}
	}
	if *out == "" || !strings.EqualFold(filepath.Ext(*out), ".png") {
		return usageError("-out FILE.png is required")
	}
	if fs.NArg() == 0 {
		return usageError("no curve files: give the curve.json of `advlab train ssl` or of scripts/reference/improved_gan_mnist.py")
	}
	var curves []*ssl.Curve
	for _, path := range fs.Args() {
		c, err := ssl.ReadCurve(path)
		if err != nil {
			return err
		}
		curves = append(curves, c)
	}
	panels := []struct {
		title string
		value func(ssl.CurvePoint) *float64
	}{
		{"Reference's average (from zeros, rate 1e-4)", func(p ssl.CurvePoint) *float64 { return p.TestErrRefAv }},
		{"advlab's average (rate 1e-3)", func(p ssl.CurvePoint) *float64 { return p.TestErrAv }},
		{"Current weights", func(p ssl.CurvePoint) *float64 { e := p.TestErr; return &e }},
	}
	charts := make([]*viz.Chart, len(panels))
	for i, panel := range panels {
		chart := &viz.Chart{Title: panel.title, XLabel: "epoch", YLabel: "test error (%)", LogY: *logY}
		for _, c := range curves {
			var s viz.Series
			s.Name = fmt.Sprintf("%s seed %d", c.Implementation, c.Seed)
			for _, p := range c.Epochs {
				if v := panel.value(p); v != nil {
					s.X, s.Y = append(s.X, float64(p.Epoch)), append(s.Y, 100**v)
				}
			}
			chart.Series = append(chart.Series, s)
		}
		charts[i] = chart
	}
	img, err := viz.ChartRow(charts, 640, 440)
	if err != nil {
		return err
	}
	if err := viz.SavePNG(*out, img); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d curves)\n", *out, len(curves))
	return nil
}
