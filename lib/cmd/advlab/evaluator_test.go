package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advlab/advlab/internal/testenv"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/metrics"
)

func TestTrainCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "missing job"},
		{[]string{"bogus"}, `unknown job "bogus"`},
		{[]string{"evaluator", "-dataset", "cifar10"}, `-dataset "cifar10": the evaluator trains on mnist or fashion`},
		{[]string{"evaluator", "-epochs", "0"}, "-epochs 0: want an integer >= 1"},
		{[]string{"evaluator", "extra"}, "unexpected argument \"extra\""},
		{[]string{"gan", "foo", "-steps", "5", "-out", "x"}, `unexpected argument "foo"`},
		{[]string{"gan", "-dataset", "usps", "-out", "x"}, `-dataset "usps": train gan takes mnist, fashion or cifar10`},
		{[]string{"gan", "-fid-samples", "1", "-out", "x"}, "-fid-samples 1: want 0 (no evaluation) or an integer >= 100"},
		{[]string{"gan", "-eval-samples", "6000", "-out", "x"}, "-eval-samples 6000: want an integer in [100, 5000]"},
		{[]string{"gan", "-until", "fid", "-out", "x"}, `-until "fid": want steps or recognisable`},
		{[]string{"gan", "-until", "recognisable", "-out", "x"}, "-until recognisable needs -eval-every N"},
		{[]string{"gan", "-lr", "-1", "-out", "x"}, "-lr -1: want 0 (the architecture's default) or a finite number > 0"},
		{[]string{"gan", "-beta1", "NaN", "-out", "x"}, "-beta1 NaN: want 0 (the architecture's default) or a finite number in (0, 1)"},
		{[]string{"vae", "-width", "NaN", "-out", "x"}, "-width NaN: want a finite number > 0"},
		{[]string{"vae", "-lr", "-1", "-out", "x"}, "-lr -1: want a finite number > 0"},
	} {
		err := runTrain(tc.args)
		if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("advlab train %v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestTrainEvaluatorSmoke runs `advlab train evaluator` at its smoke size (1024 images, one epoch of 32 steps)
// when MNIST is already in the data cache; tests never download.
func TestTrainEvaluatorSmoke(t *testing.T) {
	if _, err := data.LoadWith("mnist", data.Train, data.FetchOptions{Offline: true}); err != nil {
		testenv.Missing(t, "MNIST is not in the data cache, skipping the training smoke run: %v", err)
	}
	out := filepath.Join(t.TempDir(), "evaluator.ckpt")
	if err := runTrain([]string{"evaluator", "-limit", "1024", "-epochs", "1", "-batch", "32", "-out", out}); err != nil {
		t.Fatal(err)
	}
	eval, err := metrics.LoadEvaluatorFile(out, "")
	if err != nil {
		t.Fatal(err)
	}
	// 32 steps on 1024 digits beat chance (10%) by far on the 10,000 test digits (with fewer, batch
	// norm's running statistics still lean on their initial values and accuracy is poor).
	if eval.Info.TestImages != 10000 || eval.Info.TestAccuracy < 0.6 {
		t.Errorf("smoke run: test accuracy %.3f on %d images, want >= 0.6 on 10000", eval.Info.TestAccuracy, eval.Info.TestImages)
	}
}
