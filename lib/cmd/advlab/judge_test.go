package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advlab/advlab/lib/data"
)

// TestJudgeFiles: `advlab judge` passes real training digits (the judge's reference and floor are
// test digits), fails noise, reads PyTorch's NCHW layout with [0, 1] pixels the same as NHWC
// [-1, 1], and writes one verdict per file.
func TestJudgeFiles(t *testing.T) {
	requireMNIST(t, "the judge")
	train, err := data.Load("mnist", data.Train)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	first := make([]int, n)
	for i := range first {
		first[i] = i
	}
	digits := train.Subset(first).Float32(data.RangeMinusOneOne) // NHWC [n, 28, 28, 1] in [-1, 1]
	dir := t.TempDir()
	realPath := filepath.Join(dir, "real.npy")
	if err := data.WriteNPYImages(realPath, digits, n, 28, 28, 1); err != nil {
		t.Fatal(err)
	}
	// The same digits as [n, 1, 28, 28] in [0, 1]: one channel, so NCHW and NHWC hold the same
	// values in the same order, but the file says channels first.
	zeroOne := make([]float32, len(digits))
	for i, p := range digits {
		zeroOne[i] = (p + 1) / 2
	}
	nchwPath := filepath.Join(dir, "real-nchw.npy")
	if err := data.WriteNPYImages(nchwPath, zeroOne, n, 1, 28, 28); err != nil {
		t.Fatal(err)
	}
	noise := make([]float32, len(digits))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = 2*rng.Float32() - 1
	}
	noisePath := filepath.Join(dir, "noise.npy")
	if err := data.WriteNPYImages(noisePath, noise, n, 28, 28, 1); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "verdicts.json")
	if err := runJudge([]string{"-json", out, realPath, noisePath}); err != nil {
		t.Fatal(err)
	}
	var verdicts []judgeVerdict
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &verdicts); err != nil {
		t.Fatal(err)
	}
	if len(verdicts) != 2 || verdicts[0].File != realPath || verdicts[1].File != noisePath {
		t.Fatalf("verdicts %+v: want one for each file, in order", verdicts)
	}
	real, fake := verdicts[0].Quality.Generated, verdicts[1].Quality.Generated
	if !verdicts[0].Recognisable || real.Images != n || real.IS < 8.5 || real.PR.Precision < 0.8 || real.Coverage.ClassesCovered != 10 {
		t.Errorf("real training digits: recognisable %v, %+v; want them to pass with IS >= 8.5 and precision >= 0.8", verdicts[0].Recognisable, real)
	}
	if verdicts[1].Recognisable || fake.IS > 2 || fake.PR.Precision > 0.05 || fake.KID.KID < 100*real.KID.KID {
		t.Errorf("noise: recognisable %v, %+v; want it to fail with IS <= 2 and precision <= 0.05", verdicts[1].Recognisable, fake)
	}
	if len(verdicts[0].Checks) != 4 {
		t.Errorf("checks %q: want the bar's four criteria", verdicts[0].Checks)
	}

	if err := runJudge([]string{"-range", "0,1", "-json", out, nchwPath}); err != nil {
		t.Fatal(err)
	}
	if raw, err = os.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	var nchw []judgeVerdict
	if err := json.Unmarshal(raw, &nchw); err != nil {
		t.Fatal(err)
	}
	if len(nchw) != 1 || nchw[0].Quality.Generated.IS != real.IS || nchw[0].Quality.Generated.KID != real.KID {
		t.Errorf("NCHW [0, 1] file judged %+v, want the same numbers as the NHWC [-1, 1] one (IS %g, KID %+v)", nchw, real.IS, real.KID)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no sample files"},
		{[]string{realPath, "-n", "5"}, "flag -n after the files"},
		{[]string{"-range", "0,255", realPath}, `-range "0,255"`},
		{[]string{"-dataset", "cifar10", realPath}, `-dataset "cifar10"`},
		{[]string{"-n", "2000", realPath}, "holds 1000 images; -n 2000"},
		{[]string{"-n", "6000", "-json", "-", realPath}, "-n 6000"},
		{[]string{realPath + ".missing"}, "real.npy.missing"},
		{[]string{"-range", "0,1", realPath}, "outside [0, 1]"},
	} {
		err := runJudge(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("judge %q: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}
