package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/metrics"
)

func init() {
	register("judge", "measure generated images from .npy files against the quality bar: advlab judge [-dataset mnist] FILE.npy ...", runJudge)
}

// judgeVerdict is what `advlab judge -json` writes for each file.
type judgeVerdict struct {
	File         string          `json:"file"`
	Recognisable bool            `json:"recognisable"`
	Checks       []string        `json:"checks"`
	Quality      metrics.Quality `json:"quality"`
}

// runJudge is `advlab judge`: every measure of the quality bar (Inception Score, KID, precision,
// recall, FID, classes covered) for images another program generated, beside the real-data floor,
// on the same evaluator `advlab train gan -until recognisable` uses. One judge (its floor drawn
// once) measures every file, so a run's evaluations, step after step, are compared alike.
func runJudge(args []string) error {
	fs := newFlags("judge", "judge [-dataset mnist|fashion] [-range -1,1|0,1] [-n N] [-json FILE] SAMPLES.npy [SAMPLES.npy ...]")
	dataset := fs.String("dataset", "mnist", "the real images and evaluator to judge against: mnist or fashion")
	valueRange := fs.String("range", "-1,1", "the range of float pixels in the files: -1,1 (a tanh output) or 0,1 (a sigmoid output); uint8 files are 0..255")
	n := fs.Int("n", 0, "judge the first N images of each file (0: all of them, at most half the test split); every file needs at least N")
	jsonOut := fs.String("json", "", "also write the verdicts, a JSON array with an object per file, to this file (-: standard output, the report then goes to standard error)")
	if err := parseOptionsAndFiles(fs, args, atLeast("n", 0)); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError("no sample files: give .npy files of images shaped [N, 28, 28], [N, 28, 28, 1] or [N, 1, 28, 28] (numpy.save)")
	}
	if *dataset != "mnist" && *dataset != "fashion" {
		return usageError("-dataset %q: the judge has evaluators for mnist and fashion", *dataset)
	}
	var r data.Range
	switch *valueRange {
	case "-1,1":
		r = data.RangeMinusOneOne
	case "0,1":
		r = data.RangeZeroOne
	default:
		return usageError("-range %q: want -1,1 or 0,1", *valueRange)
	}

	judges := &ganJudges{dataset: *dataset}
	if err := judges.load(); err != nil {
		return err
	}
	report := os.Stdout
	if *jsonOut == "-" { // standard output holds the JSON alone; the report goes to standard error
		report = os.Stderr
	}
	var verdicts []judgeVerdict
	for _, path := range fs.Args() {
		images, err := data.ReadNPYImages(path, r)
		if err != nil {
			return err
		}
		count := *n
		if count == 0 {
			count = min(images.N, judges.test.N/2)
		}
		if images.N < count {
			return fmt.Errorf("%s holds %d images; -n %d asks for more", path, images.N, count)
		}
		if 2*count > judges.test.N {
			return usageError("-n %d: the judge takes at most %d images (half the %d test images; the other half is the real-data floor)",
				count, judges.test.N/2, judges.test.N)
		}
		judge, err := judges.bySizeJudge(count)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		size := images.Height * images.Width * images.Channels
		quality, err := judge.Measure(images.Pixels[:count*size], count, images.Height, images.Width, images.Channels)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		pass, lines := metrics.Recognisable.Check(quality)
		verdict := "not yet recognisable"
		if pass {
			verdict = "recognisable"
		}
		fmt.Fprintf(report, "%s: %s (%d of its %d images, %dx%dx%d)\n%s  %s\n", path, verdict, count, images.N,
			images.Height, images.Width, images.Channels, quality, strings.Join(lines, "\n  "))
		verdicts = append(verdicts, judgeVerdict{File: path, Recognisable: pass, Checks: lines, Quality: quality})
	}
	if *jsonOut == "" {
		return nil
	}
	raw, err := json.MarshalIndent(verdicts, "", " ")
	if err != nil {
		return err
	}
	if *jsonOut == "-" {
		_, err = fmt.Println(string(raw))
		return err
	}
	return os.WriteFile(*jsonOut, append(raw, '\n'), 0o644)
}
