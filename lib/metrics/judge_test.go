package metrics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/advlab/advlab/internal/testenv"
	"github.com/advlab/advlab/lib/data"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestInceptionScoreByHand: split 1 holds two confident images of different classes, so p(y) is
// (½, ½, 0) and each KL is ln 2: IS = 2. Split 2 holds two uniform images: KL 0, IS = 1. Mean 1.5,
// np.std 0.5.
func TestInceptionScoreByHand(t *testing.T) {
	third := float32(1.0 / 3)
	probs := []float32{
		1, 0, 0,
		0, 1, 0,
		third, third, third,
		third, third, third,
	}
	mean, std, err := InceptionScore(probs, 4, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !near(mean, 1.5, 1e-6) || !near(std, 0.5, 1e-6) {
		t.Errorf("IS = %g ± %g, want 1.5 ± 0.5", mean, std)
	}
	// One split over all four: p(y) = (5/12, 5/12, 1/6); KL of the one-hot rows ln(12/5), of the
	// uniform rows ln(1/3 · 12/5)·(2/3) + ln(1/3 · 6)·(1/3) = (2/3)ln(4/5) + (1/3)ln 2.
	mean, std, err = InceptionScore(probs, 4, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	kl := (2*math.Log(12.0/5) + 2*((2.0/3)*math.Log(4.0/5)+(1.0/3)*math.Log(2))) / 4
	if !near(mean, math.Exp(kl), 1e-6) || std != 0 {
		t.Errorf("IS over one split = %g ± %g, want %g ± 0", mean, std, math.Exp(kl))
	}
	// Ten confident images spread over ten classes score 10, the maximum.
	confident := make([]float32, 100)
	for i := range 10 {
		confident[i*10+i] = 1
	}
	if mean, _, _ := InceptionScore(confident, 10, 10, 1); !near(mean, 10, 1e-6) {
		t.Errorf("IS of ten confident distinct classes = %g, want 10", mean)
	}
	for _, bad := range []struct {
		probs        []float32
		n, k, splits int
		what         string
	}{
		{probs, 4, 3, 0, "0 splits"},
		{probs, 4, 3, 5, "more splits than images"},
		{probs[:11], 4, 3, 1, "short input"},
		{[]float32{float32(math.NaN()), 1}, 1, 2, 1, "NaN"},
	} {
		if _, _, err := InceptionScore(bad.probs, bad.n, bad.k, bad.splits); err == nil {
			t.Errorf("InceptionScore accepted %s", bad.what)
		}
	}
}

// TestKIDByHand: one-dimensional features X = {0, 1, 2}, Y = {1, 1, 2}, k(x, y) = (xy + 1)³.
// XX off the diagonal: 2·(k(0,1) + k(0,2) + k(1,2)) = 2·29 = 58, over m(m−1) = 6. YY: 2·(8 + 27 + 27)
// = 124, over 6. XY: x = 0 gives 3, x = 1 gives 8 + 8 + 27 = 43, x = 2 gives 27 + 27 + 125 = 179:
// 225 · 2/9 = 50. MMD² = 58/6 + 124/6 − 50 = −59/3.
// Jackknife, leaving out (x_i, y_i): i = 0 leaves X = {1, 2}, Y = {1, 2}: 27 + 27 − 187/2 = −39.5;
// i = 1 leaves {0, 2}, {1, 2}: 1 + 27 − 154/2 = −49; i = 2 leaves {0, 1}, {1, 1}: 1 + 8 − 18/2 = 0.
// Mean −29.5, squared deviations 100 + 380.25 + 870.25 = 1350.5, SE = √(2/3 · 1350.5).
func TestKIDByHand(t *testing.T) {
	r, err := KID([]float32{0, 1, 2}, 3, []float32{1, 1, 2}, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.KID, -59.0/3, 1e-9) || !near(r.SE, math.Sqrt(2.0/3*1350.5), 1e-9) || r.Vectors != 3 {
		t.Errorf("KID = %+v, want %g ± %g over 3 vectors", r, -59.0/3, math.Sqrt(2.0/3*1350.5))
	}
	// Two dimensions: the kernel divides the dot product by dim. X = {(1,1), (0,0), (0,0)},
	// Y = {(2,0), (0,0), (0,0)}: every pair gives 1 except k((1,1),(2,0)) = (2/2 + 1)³ = 8.
	// XX: 6/6 = 1; YY: 1; XY: (8 + 8·1)·2/9 = 32/9. MMD² = 2 − 32/9 = −14/9.
	r, err = KID([]float32{1, 1, 0, 0, 0, 0}, 3, []float32{2, 0, 0, 0, 0, 0}, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.KID, -14.0/9, 1e-9) {
		t.Errorf("KID in two dimensions = %v, want %g", r, -14.0/9)
	}
	// The jackknife from row sums equals recomputing the estimate without each pair.
	rng := rand.New(rand.NewPCG(7, 8))
	const m, dim = 9, 4
	x, y := make([]float32, m*dim), make([]float32, m*dim)
	for i := range x {
		x[i], y[i] = float32(rng.NormFloat64()), float32(0.5+rng.NormFloat64())
	}
	r, err = KID(x, m, y, m, dim)
	if err != nil {
		t.Fatal(err)
	}
	loo := make([]float64, m)
	mean := 0.0
	for i := range m {
		without := func(v []float32) []float32 {
			return append(append([]float32(nil), v[:i*dim]...), v[(i+1)*dim:]...)
		}
		sub, err := KID(without(x), m-1, without(y), m-1, dim)
		if err != nil {
			t.Fatal(err)
		}
		loo[i] = sub.KID
		mean += sub.KID / m
	}
	variance := 0.0
	for _, v := range loo {
		variance += (v - mean) * (v - mean)
	}
	if want := math.Sqrt(variance * (m - 1) / m); !near(r.SE, want, 1e-9*math.Max(1, want)) {
		t.Errorf("jackknife SE from row sums %g, by recomputation %g", r.SE, want)
	}
	if _, err := KID([]float32{0, 1}, 2, []float32{0, 1}, 2, 1); err == nil {
		t.Error("KID accepted 2 vectors a side")
	}
	if _, err := KID([]float32{0, float32(math.Inf(1)), 1}, 3, []float32{1, 2, 3}, 3, 1); err == nil {
		t.Error("KID accepted an infinite feature")
	}
}

// TestPrecisionRecallByHand on the line, k = 1. Real {0, 1, 10}: radii 1, 1, 9. Generated
// {0.5, 5, 30}: radii 4.5, 4.5, 25. Precision: 0.5 is within 1 of 0, 5 within 9 of 10, 30 is 20
// from 10: 2/3. Recall: 0 and 1 are within 4.5 of 0.5, 10 is within 25 of 30: 3/3.
func TestPrecisionRecallByHand(t *testing.T) {
	line := func(xs ...float32) []float32 { // points (x, 0) in two dimensions
		out := make([]float32, 0, 2*len(xs))
		for _, x := range xs {
			out = append(out, x, 0)
		}
		return out
	}
	r, err := PrecisionRecall(line(0, 1, 10), 3, line(0.5, 5, 30), 3, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.Precision, 2.0/3, 1e-12) || r.Recall != 1 || r.K != 1 {
		t.Errorf("precision/recall = %+v, want 2/3 and 1 with k 1", r)
	}
	// k = 2: real radii 10, 9, 10 (the second-nearest); generated radii 29.5, 25, 25.
	// Precision: 0.5 (within 10 of 0), 5 (within 10 of 0), 30 (20 from 10, radius 10): 2/3.
	// Recall: everything is within 25 of 30 or 5: 1. Swap the roles: precision 1, recall 2/3.
	r, err = PrecisionRecall(line(0, 1, 10), 3, line(0.5, 5, 30), 3, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.Precision, 2.0/3, 1e-12) || r.Recall != 1 {
		t.Errorf("k=2: %+v, want precision 2/3, recall 1", r)
	}
	r, err = PrecisionRecall(line(0.5, 5, 30), 3, line(0, 1, 10), 3, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Precision != 1 || !near(r.Recall, 2.0/3, 1e-12) {
		t.Errorf("k=2 swapped: %+v, want precision 1, recall 2/3", r)
	}
	// A point exactly on a ball's surface is inside (distance 1 = radius 1 of 0 and of 1).
	r, err = PrecisionRecall(line(0, 1, 2), 3, line(-1, 3, 3.5), 3, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.Precision, 2.0/3, 1e-12) {
		t.Errorf("points on the surface: precision %v, want 2/3 (-1 and 3 on the balls of 0 and 2; 3.5 outside)", r.Precision)
	}
	if _, err := PrecisionRecall(line(0, 1), 2, line(0, 1, 2), 3, 2, 2); err == nil {
		t.Error("PrecisionRecall accepted k = 2 with 2 real vectors")
	}
}

// TestBarCheck: the bar's verdict follows its four criteria, and its KID limit counts the floor
// as at least its standard error.
func TestBarCheck(t *testing.T) {
	hist := func(classes int) CoverageReport {
		return CoverageReport{ClassesCovered: classes, Histogram: make([]int, 10)}
	}
	floor := QualityReport{IS: 9, KID: KIDResult{KID: 0.001, SE: 0.0002}, PR: PRResult{Precision: 0.8}, Coverage: hist(10)}
	good := QualityReport{IS: 8.2, KID: KIDResult{KID: 0.0019}, PR: PRResult{Precision: 0.75}, Coverage: hist(10)}
	if pass, lines := Recognisable.Check(Quality{Generated: good, Floor: floor}); !pass || len(lines) != 4 {
		t.Errorf("a passing report failed: %q", lines)
	}
	for name, mutate := range map[string]func(*QualityReport){
		"9 classes":   func(q *QualityReport) { q.Coverage = hist(9) },
		"KID 2.1x":    func(q *QualityReport) { q.KID.KID = 0.0021 },
		"precision":   func(q *QualityReport) { q.PR.Precision = 0.69 },
		"IS 89% real": func(q *QualityReport) { q.IS = 0.89 * 9 },
	} {
		bad := good
		mutate(&bad)
		pass, lines := Recognisable.Check(Quality{Generated: bad, Floor: floor})
		missed := 0
		for _, line := range lines {
			if strings.HasPrefix(line, "MISSED") {
				missed++
			}
		}
		if pass || missed != 1 {
			t.Errorf("%s: pass %v with %d missed criteria, want fail with 1: %q", name, pass, missed, lines)
		}
	}
	md := Quality{Dataset: "mnist", Generated: good, Floor: floor}.Markdown(Recognisable)
	for _, want := range []string{"**recognisable** by the bar", "| KID (lower is better) | 0.0019 ± 0.0000 | 0.0010 ± 0.0002 | <= 0.0020 (2x the floor) |",
		"| Inception Score (higher is better, at most 10) | 8.20 ± 0.00 | 9.00 ± 0.00 | >= 8.10 (90% of the real) |", "| precision | 0.75 | 0.80 | >= 0.70 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	bad := good
	bad.IS = 1
	if md := (Quality{Generated: bad, Floor: floor}).Markdown(Recognisable); !strings.Contains(md, "**not yet recognisable**") {
		t.Errorf("Markdown of a failing report:\n%s", md)
	}
	if got := Recognisable.KIDLimit(KIDResult{KID: -0.0001, SE: 0.0003}); !near(got, 0.0006, 1e-12) {
		t.Errorf("KID limit of a floor below its noise = %g, want 2 × SE = 0.0006", got)
	}
}

// TestJudgeOnMNIST measures known image sets with the committed evaluator, 2,000 images a side:
// real digits pass the bar against the floor (and their ratios are near 1); Gaussian noise,
// digits of one class and heavily blurred digits do not.
func TestJudgeOnMNIST(t *testing.T) {
	eval, test := committedWithMNISTTest(t, "the quality bar check")
	train, err := data.LoadWith("mnist", data.Train, data.FetchOptions{Offline: true})
	if err != nil {
		testenv.Missing(t, "skipping the quality bar check: MNIST's training split is not in the data cache (%v)", err)
	}
	const n = 2000
	judge, err := NewJudge(eval, test, n)
	if err != nil {
		t.Fatal(err)
	}
	floor := judge.Floor()
	t.Logf("floor: IS %.3f ± %.3f, KID %v, precision %.3f, recall %.3f, FID %.2f, %d classes",
		floor.IS, floor.ISStd, floor.KID, floor.PR.Precision, floor.PR.Recall, floor.FID, floor.Coverage.ClassesCovered)
	if floor.IS < 8 || floor.PR.Precision < 0.7 || floor.PR.Recall < 0.7 || floor.Coverage.ClassesCovered != 10 ||
		math.Abs(floor.KID.KID) > 0.05 {
		t.Errorf("real-data floor out of range: %+v", floor)
	}

	rng := rand.New(rand.NewPCG(5, 6))
	sample := func(set *data.Set) []float32 {
		return set.Subset(rng.Perm(set.N)[:n]).Float32(data.RangeMinusOneOne)
	}
	noise := noiseImages(rng, n)
	ones := train.Classes(1)
	blurred := sample(train)
	boxBlur(blurred, n, 3) // a 7x7 box: strokes smeared into blobs

	for _, c := range []struct {
		name   string
		images []float32
		pass   bool
	}{
		{"real training digits", sample(train), true},
		{"Gaussian noise", noise, false},
		{"only ones", sample(ones), false},
		{"digits blurred by a 7x7 box", blurred, false},
	} {
		q, err := judge.Measure(c.images, n, ImageSide, ImageSide, 1)
		if err != nil {
			t.Fatal(err)
		}
		pass, lines := Recognisable.Check(q)
		t.Logf("%s:\n%s%s", c.name, q, strings.Join(lines, "\n"))
		if pass != c.pass {
			t.Errorf("%s: the bar says %v, want %v: %q", c.name, pass, c.pass, lines)
		}
	}
	if _, err := judge.Measure(noise[:ImageSize*10], 10, ImageSide, ImageSide, 1); err == nil {
		t.Error("Measure accepted 10 images from a judge of 2000")
	}
	if _, err := NewJudge(eval, test, test.N/2+1); err == nil {
		t.Error("NewJudge accepted a sample larger than half the real set")
	}
}

// boxBlur replaces each pixel of the n 28x28 images by the mean of the (2r+1)² box around it
// (clipped at the borders).
func boxBlur(images []float32, n, r int) {
	src := make([]float32, ImageSize)
	for i := range n {
		img := images[i*ImageSize : (i+1)*ImageSize]
		copy(src, img)
		for y := range ImageSide {
			for x := range ImageSide {
				sum, count := float32(0), 0
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						if yy, xx := y+dy, x+dx; yy >= 0 && yy < ImageSide && xx >= 0 && xx < ImageSide {
							sum += src[yy*ImageSide+xx]
							count++
						}
					}
				}
				img[y*ImageSide+x] = sum / float32(count)
			}
		}
	}
}
