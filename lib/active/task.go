package active

import (
	"fmt"
	"slices"
	"strings"

	"github.com/advlab/advlab/lib/data"
)

// Task is the classification problem of an active-learning run: a pool of training images and a
// test set, both relabelled 0..K-1.
type Task struct {
	// Train holds the pool images with their ground-truth labels 0..K-1 (read only by the Oracle
	// and by InitialSet).
	Train *data.Set
	// Test holds the test images with labels 0..K-1.
	Test *data.Set
	// Classes[k] is the original class of task label k (MNIST 5 vs 7: 5, 7).
	Classes []int
}

// NewTask keeps the images of the given original classes of train and test and relabels them
// 0..K-1 in the order given (classes 5, 7 become labels 0, 1). With no classes, every class
// 0..len(train.ClassNames)-1 is kept. Each class must have images in both sets.
func NewTask(train, test *data.Set, classes []int) (*Task, error) {
	if train == nil || test == nil {
		return nil, fmt.Errorf("active: NewTask needs a training and a test set")
	}
	if len(classes) == 0 {
		numClasses := len(train.ClassNames)
		if numClasses == 0 {
			return nil, fmt.Errorf("active: %s has no class names; give the classes explicitly", train.Name)
		}
		classes = seq(numClasses)
	}
	if len(classes) < 2 {
		return nil, fmt.Errorf("active: a task needs at least two classes, got %v", classes)
	}
	relabel := map[uint8]uint8{}
	for k, c := range classes {
		if c < 0 || c > 255 {
			return nil, fmt.Errorf("active: class %d out of range", c)
		}
		if _, dup := relabel[uint8(c)]; dup {
			return nil, fmt.Errorf("active: class %d given twice", c)
		}
		relabel[uint8(c)] = uint8(k)
	}
	task := &Task{Classes: append([]int(nil), classes...)}
	for _, s := range []struct {
		set *data.Set
		dst **data.Set
	}{{train, &task.Train}, {test, &task.Test}} {
		subset := s.set.Classes(classes...).Relabel(relabel)
		counts := subset.ClassCounts(len(classes))
		for k, n := range counts {
			if n == 0 {
				return nil, fmt.Errorf("active: %s %v has no image of class %d", s.set.Name, s.set.Split, classes[k])
			}
		}
		*s.dst = subset
	}
	if train.ImageSize() != test.ImageSize() {
		return nil, fmt.Errorf("active: training images are %dx%dx%d, test images %dx%dx%d",
			train.Height, train.Width, train.Channels, test.Height, test.Width, test.Channels)
	}
	return task, nil
}

// NumClasses is K.
func (t *Task) NumClasses() int { return len(t.Classes) }

// String describes the task, e.g. "mnist 5 vs 7 (11700 pool, 1920 test images)", or for more than
// three classes 0, 1, ..., K-1 "mnist classes 0–9 (10000 pool, 10000 test images)".
func (t *Task) String() string {
	names := make([]string, len(t.Classes))
	for k, c := range t.Classes {
		names[k] = fmt.Sprint(c)
		if k < len(t.Train.ClassNames) && t.Train.ClassNames[k] != "" {
			names[k] = t.Train.ClassNames[k] // Relabel carried the names along: "5", "automobile".
		}
	}
	what := strings.Join(names, " vs ")
	if len(t.Classes) > 3 && slices.Equal(t.Classes, seq(len(t.Classes))) {
		// "mnist classes 0–9": a title that fits a chart, and still names the classes exactly (the
		// string is part of a run's Config, which a resume must match).
		what = fmt.Sprintf("classes 0–%d", len(t.Classes)-1)
	}
	return fmt.Sprintf("%s %s (%d pool, %d test images)", t.Train.Name, what, t.Train.N, t.Test.N)
}
