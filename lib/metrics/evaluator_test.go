package metrics

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/advlab/advlab/internal/testenv"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/data"
)

// syntheticDigits returns n 28x28x1 images whose class c (0..9) is drawn as a bright horizontal
// bar on rows 2c+4 and 2c+5 over a noisy dark background: a task any working classifier learns
// in a few dozen steps.
func syntheticDigits(n int, seed uint64) *data.Set {
	rng := rand.New(rand.NewPCG(seed, 7))
	set := &data.Set{Name: "synthetic", N: n, Height: ImageSide, Width: ImageSide, Channels: 1,
		Images: make([]uint8, n*ImageSize), Labels: make([]uint8, n)}
	for i := range n {
		label := i % NumClasses
		set.Labels[i] = uint8(label)
		img := set.Images[i*ImageSize : (i+1)*ImageSize]
		for p := range img {
			img[p] = uint8(rng.IntN(60))
		}
		start := 3 + rng.IntN(4)
		for row := 2*label + 4; row <= 2*label+5; row++ {
			for col := start; col < start+18; col++ {
				img[row*ImageSide+col] = 255
			}
		}
	}
	return set
}

// cachedMNISTTest returns the MNIST test split when it is already in the data cache, else nil
// and the reason (tests never download).
func cachedMNISTTest(t *testing.T) *data.Set {
	t.Helper()
	set, err := data.LoadWith("mnist", data.Test, data.FetchOptions{Offline: true})
	if err != nil {
		t.Logf("MNIST is not in the data cache (%v)", err)
		return nil
	}
	return set
}

func firstN(set *data.Set, n int) *data.Set {
	indices := make([]int, min(n, set.N))
	for i := range indices {
		indices[i] = i
	}
	return set.Subset(indices)
}

func TestTrainEvaluatorSyntheticAndRoundTrip(t *testing.T) {
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	train, test := syntheticDigits(640, 1), syntheticDigits(200, 2)
	eval, err := TrainEvaluator(context.Background(), b, TrainConfig{Epochs: 2, BatchSize: 32, Seed: 3}, train, test)
	if err != nil {
		t.Fatal(err)
	}
	if eval.Info.TestAccuracy < 0.9 || eval.Info.TestImages != 200 {
		t.Fatalf("synthetic bars: test accuracy %.3f on %d images, want >= 0.9 on 200", eval.Info.TestAccuracy, eval.Info.TestImages)
	}

	// Save and load back: the same probabilities, and the checksum is enforced.
	path := filepath.Join(t.TempDir(), "eval.ckpt")
	sum, err := eval.Save(path)
	if err != nil {
		t.Fatal(err)
	}
	pixels := test.Float32(data.RangeMinusOneOne)
	_, before, err := eval.Classify(pixels, test.N)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadEvaluatorFile(path, sum)
	if err != nil {
		t.Fatal(err)
	}
	_, after, err := loaded.Classify(pixels, test.N)
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("probability %d changed after Save and Load: %g vs %g", i, before[i], after[i])
		}
	}
	if loaded.Info != eval.Info {
		t.Errorf("Info after Load = %+v, want %+v", loaded.Info, eval.Info)
	}

	// A wrong expected hash, and a damaged file, are both checksum errors.
	if _, err := LoadEvaluatorFile(path, SHA256([]byte("something else"))); !errors.Is(err, ErrChecksum) {
		t.Errorf("LoadEvaluatorFile with a wrong hash: err = %v, want ErrChecksum", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	if _, err := loadEvaluatorBytes(b, "damaged", raw, sum); !errors.Is(err, ErrChecksum) {
		t.Errorf("damaged weights: err = %v, want ErrChecksum", err)
	}
}

func TestClassifyAndFeaturesBatching(t *testing.T) {
	eval := committedOrSkip(t, "mnist")
	// 2·EvaluatorBatchSize + 3 images: three batches, the last one padded.
	set := syntheticDigits(2*EvaluatorBatchSize+3, 4)
	pixels := set.Float32(data.RangeMinusOneOne)
	n := set.N
	labels, probs, err := eval.Classify(pixels, n)
	if err != nil {
		t.Fatal(err)
	}
	features, err := eval.Features(pixels, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != n || len(probs) != n*NumClasses || len(features) != n*FeatureSize {
		t.Fatalf("got %d labels, %d probabilities, %d features for %d images", len(labels), len(probs), len(features), n)
	}
	for i := range n {
		sum := 0.0
		for _, p := range probs[i*NumClasses : (i+1)*NumClasses] {
			sum += float64(p)
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Fatalf("probabilities of image %d sum to %g", i, sum)
		}
	}
	// The last image alone (a batch of one padded with 249 zeros) gets the same features as in
	// its full batch: inference uses batch norm's running statistics, so padding cannot leak.
	last := pixels[(n-1)*ImageSize:]
	alone, err := eval.Features(last, 1)
	if err != nil {
		t.Fatal(err)
	}
	for j, v := range alone {
		if math.Abs(float64(v-features[(n-1)*FeatureSize+j])) > 1e-5 {
			t.Fatalf("feature %d of the last image: %g alone, %g in its batch", j, v, features[(n-1)*FeatureSize+j])
		}
	}
	if _, _, err := eval.Classify(pixels[:100], 3); err == nil {
		t.Error("Classify accepted 100 values for 3 images")
	}
	if labels, _, err := eval.Classify(nil, 0); err != nil || len(labels) != 0 {
		t.Errorf("Classify of no images: %v, %v", labels, err)
	}
}

// committedWithMNISTTest returns the committed MNIST evaluator and the cached MNIST test split;
// without them the test is skipped, or fails under CI (see testenv.Missing), naming what.
func committedWithMNISTTest(t *testing.T, what string) (*Evaluator, *data.Set) {
	t.Helper()
	eval := committedOrSkip(t, "mnist")
	test := cachedMNISTTest(t)
	if test == nil {
		testenv.Missing(t, "skipping %s: MNIST is not in the data cache (run `advlab data fetch mnist`)", what)
	}
	return eval, test
}

// noiseImages returns n images of Gaussian noise N(0, 0.5²) clipped to [-1, 1].
func noiseImages(rng *rand.Rand, n int) []float32 {
	noise := make([]float32, n*ImageSize)
	for i := range noise {
		noise[i] = float32(math.Max(-1, math.Min(1, 0.5*rng.NormFloat64())))
	}
	return noise
}

// committedOrSkip loads the committed evaluator for dataset, or skips when none is committed.
func committedOrSkip(t *testing.T, dataset string) *Evaluator {
	t.Helper()
	if _, found := CommittedWeights[dataset]; !found {
		testenv.Missing(t, "no committed evaluator weights for %q (train them with `advlab train evaluator -dataset %s`)", dataset, dataset)
	}
	eval, err := LoadEvaluator(dataset)
	if err != nil {
		t.Fatal(err)
	}
	return eval
}

func TestCommittedEvaluators(t *testing.T) {
	for dataset, want := range CommittedWeights {
		raw, err := weightsFS.ReadFile("weights/" + dataset + ".ckpt")
		if err != nil {
			t.Fatalf("%s: %v", dataset, err)
		}
		if got := SHA256(raw); got != want {
			t.Errorf("%s: committed weights hash to %s, CommittedWeights says %s", dataset, got, want)
		}
		b, _, err := backend.New()
		if err != nil {
			t.Fatal(err)
		}
		raw[100] ^= 0x80
		if _, err := loadEvaluatorBytes(b, dataset, raw, want); !errors.Is(err, ErrChecksum) {
			t.Errorf("%s: altered committed weights: err = %v, want ErrChecksum", dataset, err)
		}
	}
	if _, err := LoadEvaluator("no-such-dataset"); err == nil {
		t.Error("LoadEvaluator accepted an unknown dataset")
	}

	eval := committedOrSkip(t, "mnist")
	if eval.Info.TestAccuracy < 0.99 {
		t.Errorf("committed MNIST evaluator records test accuracy %.4f, want >= 0.99", eval.Info.TestAccuracy)
	}
	test := cachedMNISTTest(t)
	if test == nil {
		testenv.Missing(t, "skipping the accuracy check on real digits: MNIST is not in the data cache (run `advlab data fetch mnist`)")
	}
	accuracy, err := eval.Accuracy(firstN(test, 500))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("committed MNIST evaluator: accuracy %.4f on the first 500 test digits", accuracy)
	if accuracy < 0.98 {
		t.Errorf("committed MNIST evaluator: accuracy %.4f on 500 test digits, want >= 0.98", accuracy)
	}
}

// TestFIDReferencesOnMNIST checks the FID scale documented on FID with 1,000 real test digits:
// other real digits are close, noise is far, and the real digits cover all ten classes.
func TestFIDReferencesOnMNIST(t *testing.T) {
	eval, test := committedWithMNISTTest(t, "the FID reference check")
	const n = 1000
	pixels := test.Float32(data.RangeMinusOneOne)
	first, second := pixels[:n*ImageSize], pixels[n*ImageSize:2*n*ImageSize]
	realFID, err := FID(eval, first, n, second, n)
	if err != nil {
		t.Fatal(err)
	}
	noise := noiseImages(rand.New(rand.NewPCG(1, 1)), n)
	noiseFID, err := FID(eval, first, n, noise, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FID with %d images: real vs real %.2f, real vs Gaussian noise %.1f", n, realFID, noiseFID)
	if realFID > realFIDBound1000 || noiseFID < noiseFIDBound1000 {
		t.Errorf("FID with %d images: real vs real %.2f (want <= %g), real vs noise %.1f (want >= %g)",
			n, realFID, realFIDBound1000, noiseFID, noiseFIDBound1000)
	}
	labels, _, err := eval.Classify(first, n)
	if err != nil {
		t.Fatal(err)
	}
	if r := Coverage(labels, NumClasses, DefaultMinFraction); r.ClassesCovered != 10 || r.KLFromUniform > 0.02 {
		t.Errorf("real test digits: %v, want 10 classes covered and KL <= 0.02", r)
	}
}

// Bounds of TestFIDReferencesOnMNIST, with 1,000 images a side: measured 0.88 for two halves of
// the real test digits (3.7 for training digits against test digits) and 177 for Gaussian noise
// (see FID's documentation).
const (
	realFIDBound1000  = 8.0
	noiseFIDBound1000 = 100.0
)
