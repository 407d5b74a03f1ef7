package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advlab/advlab/internal/testenv"

	"github.com/advlab/advlab/lib/active"
	"github.com/advlab/advlab/lib/data"
)

func TestALFlagErrors(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-strategy", "random"}, "-out DIR is required"},
		{[]string{"-out", out}, "-strategy is required"},
		{[]string{"-strategy", "random,bogus", "-out", out}, `unknown strategy "bogus"; valid: random, entropy`},
		{[]string{"-strategy", "random,random", "-out", out}, `"random" is named twice`},
		{[]string{"-strategy", "random", "-dataset", "svhn", "-out", out}, `dataset "svhn": expected mnist, fashion or cifar10`},
		{[]string{"-strategy", "random", "-classes", "5", "-out", out}, "at least two classes"},
		{[]string{"-strategy", "random", "-classes", "5,x", "-out", out}, "expected class numbers 0..9"},
		{[]string{"-strategy", "random", "-classes", "5,12", "-out", out}, "expected class numbers 0..9"},
		{[]string{"-strategy", "gaal", "-classes", "1,2,3", "-out", out}, "gaal needs the linear SVM learner"},
		{[]string{"-strategy", "random", "-classes", "1,2,3", "-learner", "svm", "-out", out}, "learner svm is binary"},
		{[]string{"-strategy", "random", "-learner", "forest", "-out", out}, `learner "forest": expected svm or cnn`},
		{[]string{"-strategy", "gan-random", "-dataset", "cifar10", "-classes", "1,7", "-out", out}, "exists for mnist and fashion only"},
		{[]string{"-strategy", "random", "-budget", "0", "-out", out}, "-budget 0: want an integer >= 1"},
		{[]string{"-strategy", "random", "-repeats", "-1", "-out", out}, "-repeats -1: want an integer >= 1"},
		{[]string{"-strategy", "random", "-classes", "all", "-initial", "5", "-out", out}, "at least one image per class (10 classes)"},
		{[]string{"-strategy", "random", "-test-dataset", "usps", "-dataset", "fashion", "-out", out}, `test dataset "usps"`},
		{[]string{"-strategy", "random", "-gan", "stylegan", "-out", out}, `GAN "stylegan": expected mlp or dcgan28`},
		{[]string{"-strategy", "random", "-out", out, "extra"}, "unexpected argument \"extra\""},
		{[]string{"-strategy", "random", "-bogus", "-out", out}, "flag provided but not defined"},
	} {
		err := runAL(tc.args)
		if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("advlab al %v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
	if status := run([]string{"al", "-strategy", "nope", "-out", out}); status != 2 {
		t.Errorf("exit status %d for an unknown strategy, want 2", status)
	}
}

func TestALFlagDefaults(t *testing.T) {
	f, err := parseALFlags([]string{"-strategy", "all", "-out", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if f.LearnerName() != "svm" || len(f.Strategies) != len(active.StrategyNames) || f.Initial != 50 || f.Budget != 10 ||
		f.Rounds != 30 || len(f.Classes) != 2 || f.Classes[0] != 5 || f.Classes[1] != 7 {
		t.Errorf("defaults: %+v; want GAAL's protocol (svm, 5 vs 7, 50 initial, 30 rounds of 10)", f)
	}
	f, err = parseALFlags([]string{"-strategy", "entropy,vaal", "-classes", "all", "-out", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if f.LearnerName() != "cnn" || f.Classes != nil {
		t.Errorf("-classes all: learner %q classes %v, want cnn and every class", f.LearnerName(), f.Classes)
	}
}

// TestALSmoke runs `advlab al -smoke` with pool-based strategies when MNIST is in the data cache
// (tests never download), then runs the same command again: it finds the run complete and
// changes nothing.
func TestALSmoke(t *testing.T) {
	if _, err := data.LoadWith("mnist", data.Train, data.FetchOptions{Offline: true}); err != nil {
		testenv.Missing(t, "MNIST is not in the data cache (run `advlab data fetch mnist`): %v", err)
	}
	out := filepath.Join(t.TempDir(), "al")
	args := []string{"-strategy", "random,svm-active", "-smoke", "-out", out}
	if err := runAL(args); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var results active.Results
	if err := json.Unmarshal(raw, &results); err != nil {
		t.Fatal(err)
	}
	if len(results.Records) != 2*3 || len(results.Curves) != 2 {
		t.Fatalf("%d records and %d curves, want 6 (2 strategies x 3 rounds) and 2", len(results.Records), len(results.Curves))
	}
	for _, c := range results.Curves {
		if c.Labels[2] != 40 || c.Mean[2] < 0.9 {
			t.Errorf("%s: %v labels, accuracy %v; want 40 labels and >= 0.9 at the end", c.Strategy, c.Labels, c.Mean)
		}
	}
	for _, name := range []string{"results.csv", "accuracy.svg", active.StateFile} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	if err := runAL(args); err != nil {
		t.Fatalf("rerunning a finished run: %v", err)
	}
	again, _ := os.ReadFile(filepath.Join(out, "results.json"))
	if string(again) != string(raw) {
		t.Error("rerunning a finished run changed results.json")
	}
	if err := runAL([]string{"-strategy", "random,svm-active", "-smoke", "-seed", "2", "-out", out}); err == nil ||
		!strings.Contains(err.Error(), "another configuration") {
		t.Errorf("another seed in the same directory: %v, want a refusal naming the configuration", err)
	}
}

func TestPadImages(t *testing.T) {
	set := &data.Set{Name: "toy", N: 2, Height: 1, Width: 2, Channels: 1, Images: []uint8{1, 2, 3, 4}, Labels: []uint8{0, 1}}
	padded := active.PadImages(set, 1)
	want := []uint8{0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0}
	if padded.Height != 3 || padded.Width != 4 || string(padded.Images) != string(want) || padded.Labels[1] != 1 {
		t.Errorf("padded %dx%d %v, want 3x4 %v", padded.Height, padded.Width, padded.Images, want)
	}
}
