package active

import (
	"strings"
	"testing"

	"github.com/advlab/advlab/lib/data"
)

func TestExperimentCheck(t *testing.T) {
	ok := Experiment{Strategies: []string{"random", "gaal"}, Dataset: "mnist", Classes: []int{5, 7}, Initial: 50,
		Budget: 10, Rounds: 3, Repeats: 1}
	if err := ok.Check(); err != nil {
		t.Fatalf("GAAL's protocol: %v", err)
	}
	if got := ok.LearnerName(); got != "svm" {
		t.Errorf("default learner with two classes %q, want svm", got)
	}
	for _, tc := range []struct {
		change func(*Experiment)
		want   string
	}{
		{func(e *Experiment) { e.Strategies = nil }, "no strategy"},
		{func(e *Experiment) { e.Strategies = []string{"random", "random"} }, `"random" is named twice`},
		{func(e *Experiment) { e.Strategies = []string{"coreset"} }, `unknown strategy "coreset"`},
		{func(e *Experiment) { e.Dataset = "svhn" }, `dataset "svhn": expected mnist, fashion or cifar10`},
		{func(e *Experiment) { e.TestDataset = "usps"; e.Dataset = "fashion" }, `test dataset "usps"`},
		{func(e *Experiment) { e.Classes = []int{5} }, "at least two classes"},
		{func(e *Experiment) { e.Classes = []int{5, 12} }, "class 12: expected class numbers 0..9"},
		{func(e *Experiment) { e.Classes = nil }, "strategy gaal needs the linear SVM learner"},
		{func(e *Experiment) { e.Strategies, e.Classes, e.Learner = []string{"random"}, []int{1, 2, 3}, "svm" }, "learner svm is binary"},
		{func(e *Experiment) { e.Dataset = "cifar10"; e.Classes = []int{1, 7} }, "exists for mnist and fashion only"},
		{func(e *Experiment) { e.Strategies, e.Classes, e.Initial = []string{"random"}, nil, 9 }, "at least one image per class (10 classes)"},
		{func(e *Experiment) { e.Budget = 0 }, "Budget = 0"},
		{func(e *Experiment) { e.GAN.Arch = "stylegan" }, `GAN "stylegan": expected mlp or dcgan28`},
	} {
		e := ok
		e.Strategies = append([]string(nil), ok.Strategies...)
		tc.change(&e)
		if err := e.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", e, err, tc.want)
		}
	}
}

func TestExperimentSmoke(t *testing.T) {
	e := Experiment{Strategies: []string{"vaal"}, Dataset: "mnist", Initial: 6000, Budget: 3000, Rounds: 6, Repeats: 3,
		Options: Options{VAAL: VAALConfig{Arch: "conv"}}}
	e.Smoke()
	if e.Pool != 1000 || e.TestSize != 500 || e.Initial != 20 || e.Budget != 10 || e.Rounds != 2 || e.Repeats != 1 ||
		e.Options.VAAL.Arch != "conv" || e.Options.VAAL.Steps != 10 {
		t.Errorf("smoke settings %+v: want 1000 pool, 500 test, 20 initial, 2 rounds of 10, 1 repeat, VAAL's arch kept", e)
	}
	if err := e.Check(); err != nil {
		t.Errorf("smoke experiment: %v", err)
	}
}

// TestFirstImagesKeepsEveryClass: a prefix of a shuffled set stays a prefix; a prefix of a set
// sorted by class (one class only) becomes the first images of each class.
func TestFirstImagesKeepsEveryClass(t *testing.T) {
	sorted := &data.Set{Name: "sorted", N: 9, Height: 1, Width: 1, Channels: 1,
		Images: []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8}, Labels: []uint8{0, 0, 0, 1, 1, 1, 2, 2, 2}}
	got := firstImages(sorted, 4, 3)
	if want := []uint8{0, 3, 6, 7}; got.N != 4 || string(got.Images) != string(want) {
		t.Errorf("sorted set: images %v, want %v (the first 1 of classes 0 and 1, the first 2 of class 2)", got.Images, want)
	}
	shuffled := &data.Set{Name: "shuffled", N: 6, Height: 1, Width: 1, Channels: 1,
		Images: []uint8{0, 1, 2, 3, 4, 5}, Labels: []uint8{2, 0, 1, 1, 0, 2}}
	if got := firstImages(shuffled, 3, 3); string(got.Images) != string([]uint8{0, 1, 2}) {
		t.Errorf("shuffled set: images %v, want the prefix 0 1 2", got.Images)
	}
	if got := firstImages(shuffled, 0, 3); got != shuffled {
		t.Error("n = 0 does not keep the whole set")
	}
}

// TestTaskStringNamesTheClasses: the task's name (part of a run's Config, which a resume must
// match) abbreviates only 0..K-1, so two different four-class tasks never share a name.
func TestTaskStringNamesTheClasses(t *testing.T) {
	set := &data.Set{Name: "toy", N: 1}
	for _, c := range []struct {
		classes []int
		want    string
	}{
		{[]int{5, 7}, "toy 5 vs 7 (1 pool, 1 test images)"},
		{[]int{0, 1, 2, 3}, "toy classes 0–3 (1 pool, 1 test images)"},
		{[]int{4, 5, 6, 7}, "toy 4 vs 5 vs 6 vs 7 (1 pool, 1 test images)"},
	} {
		task := &Task{Train: set, Test: set, Classes: c.classes}
		if got := task.String(); got != c.want {
			t.Errorf("classes %v: %q, want %q", c.classes, got, c.want)
		}
	}
}
