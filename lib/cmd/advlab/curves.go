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
	logX := fs.Bool("log-x", false, "logarithmic epoch axis (for a long run beside short ones)")
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
	img, err := viz.ChartRow(ssl.CurveCharts(curves, *logX, *logY), 640, 440)
	if err != nil {
		return err
	}
	if err := viz.SavePNG(*out, img); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d curves)\n", *out, len(curves))
	return nil
}
