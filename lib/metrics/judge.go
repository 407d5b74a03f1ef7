package metrics

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/advlab/advlab/lib/data"
)

// QualityReport holds every measure of one set of images against a judge's real reference
// images, all on the evaluator's outputs: the Inception Score on its class probabilities, KID,
// precision, recall and FID on its features, and the class coverage of its predictions.
type QualityReport struct {
	// Images is the number of images measured (as many as the reference set holds).
	Images int `json:"images"`
	// IS and ISStd are the Inception Score's mean and spread over DefaultISSplits splits.
	IS    float64 `json:"inception_score"`
	ISStd float64 `json:"inception_score_std"`
	// KID is the kernel distance to the reference images, with its standard error.
	KID KIDResult `json:"kid"`
	// PR holds the precision and recall against the reference images.
	PR PRResult `json:"precision_recall"`
	// FID is the Fréchet distance to the reference images (biased by the sample size: compare
	// only with the floor's, measured at the same size).
	FID float64 `json:"fid"`
	// Coverage is the class histogram of the images as the evaluator classifies them.
	Coverage CoverageReport `json:"coverage"`
}

// Quality is a judgement: the generated images' report beside the real-data floor, the same
// measures computed on a second set of real images of the same size (what a perfect generator
// would score, sampling noise included).
type Quality struct {
	// Dataset names the real data (the evaluator's dataset).
	Dataset string `json:"dataset"`
	// Generated is the report of the images judged; Floor that of the second real set.
	Generated QualityReport `json:"generated"`
	Floor     QualityReport `json:"real_floor"`
}

// Bar is a rule for "good enough", stated against the real-data floor.
type Bar struct {
	// Classes is the number of classes the samples must cover (each at least DefaultMinFraction).
	Classes int
	// KIDFactor bounds KID: at most KIDFactor times the floor's KID (see KIDLimit).
	KIDFactor float64
	// MinPrecision is the least precision.
	MinPrecision float64
	// ISFraction is the least Inception Score as a fraction of the real images'.
	ISFraction float64
}

// Recognisable is the bar for samples a person reads as digits (or garments): all ten classes,
// KID within twice the real-data floor, precision at least 0.7 and an Inception Score at least 90%
// of the real images'. Grids that pass it and grids that do not are shown side by side in
// docs/results.md.
var Recognisable = Bar{Classes: 10, KIDFactor: 2, MinPrecision: 0.7, ISFraction: 0.9}

// KIDLimit is the largest KID the bar accepts for a floor: KIDFactor times the floor's KID, where
// the floor counts as at least its own standard error (an unbiased estimate of a distance near 0
// can come out tiny or negative; twice a number within its noise would be a bar no real set
// passes reliably).
func (b Bar) KIDLimit(floor KIDResult) float64 {
	return b.KIDFactor * max(floor.KID, floor.SE)
}

// Check returns whether q passes the bar and, for each criterion, a line saying how it stands
// (met or not, with the numbers).
func (b Bar) Check(q Quality) (pass bool, lines []string) {
	g, f := q.Generated, q.Floor
	pass = true
	check := func(ok bool, format string, args ...any) {
		mark := "met    "
		if !ok {
			mark, pass = "MISSED ", false
		}
		lines = append(lines, mark+fmt.Sprintf(format, args...))
	}
	check(g.Coverage.ClassesCovered >= b.Classes, "classes: %d covered, want >= %d", g.Coverage.ClassesCovered, b.Classes)
	limit := b.KIDLimit(f.KID)
	check(g.KID.KID <= limit, "KID: %.5f, want <= %.5f (%gx the real floor %.5f ± %.5f)", g.KID.KID, limit, b.KIDFactor, f.KID.KID, f.KID.SE)
	check(g.PR.Precision >= b.MinPrecision, "precision: %.3f, want >= %.2f", g.PR.Precision, b.MinPrecision)
	check(g.IS >= b.ISFraction*f.IS, "Inception Score: %.3f, want >= %.3f (%.0f%% of the real %.3f)", g.IS, b.ISFraction*f.IS, 100*b.ISFraction, f.IS)
	return pass, lines
}

// ratio formats a/b as "3.1x", or "-" when b is 0.
func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// String formats the judgement as a small table: each measure for the generated images, the
// real floor, and their ratio (for KID, the ratio to the floor counted as at least its standard
// error, as Bar.KIDLimit counts it).
func (q Quality) String() string {
	g, f := q.Generated, q.Floor
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %18s %18s %8s\n", fmt.Sprintf("%s, %d a side", q.Dataset, g.Images), "generated", "real floor", "ratio")
	row := func(name, gen, real, r string) { fmt.Fprintf(&b, "%-18s %18s %18s %8s\n", name, gen, real, r) }
	row("Inception Score", fmt.Sprintf("%.3f ± %.3f", g.IS, g.ISStd), fmt.Sprintf("%.3f ± %.3f", f.IS, f.ISStd), ratio(g.IS, f.IS))
	row("KID", g.KID.String(), f.KID.String(), ratio(g.KID.KID, max(f.KID.KID, f.KID.SE)))
	row("precision", fmt.Sprintf("%.3f", g.PR.Precision), fmt.Sprintf("%.3f", f.PR.Precision), ratio(g.PR.Precision, f.PR.Precision))
	row("recall", fmt.Sprintf("%.3f", g.PR.Recall), fmt.Sprintf("%.3f", f.PR.Recall), ratio(g.PR.Recall, f.PR.Recall))
	row("FID", fmt.Sprintf("%.2f", g.FID), fmt.Sprintf("%.2f", f.FID), ratio(g.FID, f.FID))
	row("classes covered", fmt.Sprintf("%d/%d", g.Coverage.ClassesCovered, len(g.Coverage.Histogram)),
		fmt.Sprintf("%d/%d", f.Coverage.ClassesCovered, len(f.Coverage.Histogram)), "")
	return b.String()
}

// Markdown formats the judgement for a notebook: the verdict of bar on one line, then a table of
// each measure for the generated images, the real-data floor and what the bar asks.
func (q Quality) Markdown(bar Bar) string {
	g, f := q.Generated, q.Floor
	pass, _ := bar.Check(q)
	verdict := "not yet recognisable"
	if pass {
		verdict = "recognisable"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** by the bar (%d generated %s images against %d real ones, and the real-data floor: %d other real ones)\n\n",
		verdict, g.Images, q.Dataset, g.Images, f.Images)
	b.WriteString("| measure | generated | real-data floor | the bar asks |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| Inception Score (higher is better, at most 10) | %.2f ± %.2f | %.2f ± %.2f | >= %.2f (%.0f%% of the real) |\n",
		g.IS, g.ISStd, f.IS, f.ISStd, bar.ISFraction*f.IS, 100*bar.ISFraction)
	fmt.Fprintf(&b, "| KID (lower is better) | %.4f ± %.4f | %.4f ± %.4f | <= %.4f (%gx the floor) |\n",
		g.KID.KID, g.KID.SE, f.KID.KID, f.KID.SE, bar.KIDLimit(f.KID), bar.KIDFactor)
	fmt.Fprintf(&b, "| precision | %.2f | %.2f | >= %.2f |\n", g.PR.Precision, f.PR.Precision, bar.MinPrecision)
	fmt.Fprintf(&b, "| recall | %.2f | %.2f | — |\n", g.PR.Recall, f.PR.Recall)
	fmt.Fprintf(&b, "| FID on the evaluator's features | %.1f | %.1f | — |\n", g.FID, f.FID)
	fmt.Fprintf(&b, "| classes covered | %d of %d | %d of %d | %d |\n", g.Coverage.ClassesCovered, len(g.Coverage.Histogram),
		f.Coverage.ClassesCovered, len(f.Coverage.Histogram), bar.Classes)
	return b.String()
}

// judgedImages is what a judge keeps of a set of images: the evaluator's outputs.
type judgedImages struct {
	features, probs []float32
	labels          []int
	stats           GaussianStats
}

// Judge measures generated images against a fixed sample of real test images and the real-data
// floor: a second, disjoint sample of real images of the same size, measured the same way. Build
// one per run with NewJudge (it runs the evaluator on both real samples once) and call Measure as
// often as needed. A Judge is safe for concurrent use.
type Judge struct {
	// Evaluator is the network whose outputs all measures use.
	Evaluator *Evaluator
	// Dataset names the real images.
	Dataset string
	// Images is the number of images on each side: the reference sample, the floor sample, and
	// the generated images Measure takes.
	Images int

	reference judgedImages
	floor     QualityReport
}

// minJudgeImages is the smallest sample a judge takes: ten images per Inception Score split.
const minJudgeImages = 10 * DefaultISSplits

// judgeSeed fixes the random split of the real images into the reference and floor samples.
const judgeSeed = 2019

// NewJudge draws two disjoint samples of n images each from real (a seeded random split, the same
// on every call, of real's images: use the test split) and measures the second against the first:
// the floor. n must be at most real.N/2 and large enough for the measures (at least
// 100; 2,000 or more gives stable numbers).
func NewJudge(e *Evaluator, real *data.Set, n int) (*Judge, error) {
	if real == nil || real.N == 0 {
		return nil, fmt.Errorf("metrics: NewJudge needs a set of real images")
	}
	if n < minJudgeImages || 2*n > real.N {
		return nil, fmt.Errorf("metrics: a judge of %d images a side needs two disjoint samples from the %d real %s images: "+
			"want %d <= n <= %d", n, real.N, real.Name, minJudgeImages, real.N/2)
	}
	if real.Height != ImageSide || real.Width != ImageSide || real.Channels != 1 {
		return nil, fmt.Errorf("metrics: the evaluator reads 28x28x1 images, %s has %dx%dx%d", real.Name, real.Height, real.Width, real.Channels)
	}
	order := rand.New(rand.NewPCG(judgeSeed, uint64(real.N))).Perm(real.N)
	j := &Judge{Evaluator: e, Dataset: real.Name, Images: n}
	var err error
	if j.reference, err = j.judge(real.Subset(order[:n]).Float32(data.RangeMinusOneOne)); err != nil {
		return nil, err
	}
	floorImages, err := j.judge(real.Subset(order[n : 2*n]).Float32(data.RangeMinusOneOne))
	if err != nil {
		return nil, err
	}
	if j.floor, err = j.report(floorImages); err != nil {
		return nil, fmt.Errorf("metrics: the real-data floor: %w", err)
	}
	return j, nil
}

// Floor returns the real-data floor: the second real sample's report against the first.
func (j *Judge) Floor() QualityReport { return j.floor }

// judge runs the evaluator on Images images (flat [Images, 28, 28, 1] in [-1, 1]).
func (j *Judge) judge(images []float32) (judgedImages, error) {
	var out judgedImages
	var err error
	if out.labels, out.probs, out.features, err = j.Evaluator.classify(images, j.Images, true); err != nil {
		return out, err
	}
	if !isFinite(out.features) || !isFinite(out.probs) {
		return out, fmt.Errorf("metrics: the evaluator's outputs hold non-finite values (are the images finite?)")
	}
	out.stats, err = FeatureStats(out.features, j.Images, FeatureSize)
	return out, err
}

// report measures judged images against the reference sample.
func (j *Judge) report(x judgedImages) (QualityReport, error) {
	r := QualityReport{Images: j.Images, Coverage: Coverage(x.labels, NumClasses, DefaultMinFraction)}
	var err error
	if r.IS, r.ISStd, err = InceptionScore(x.probs, j.Images, NumClasses, DefaultISSplits); err != nil {
		return r, err
	}
	ref := j.reference
	if r.KID, err = KID(ref.features, j.Images, x.features, j.Images, FeatureSize); err != nil {
		return r, err
	}
	if r.PR, err = PrecisionRecall(ref.features, j.Images, x.features, j.Images, FeatureSize, DefaultPRNeighbours); err != nil {
		return r, err
	}
	if r.FID, err = FIDFromStats(ref.stats, x.stats); err != nil {
		return r, err
	}
	return r, nil
}

// Measure judges Images generated images (NHWC [Images, height, width, channels], values in
// [-1, 1], as a tanh generator produces them; other sizes than 28x28 are resized as EvaluateSamples
// does) and returns their report beside the floor.
func (j *Judge) Measure(samples []float32, n, height, width, channels int) (Quality, error) {
	if n != j.Images {
		return Quality{}, fmt.Errorf("metrics: this judge compares %d images a side; got %d generated images", j.Images, n)
	}
	images, err := evaluatorImages(samples, n, height, width, channels)
	if err != nil {
		return Quality{}, err
	}
	x, err := j.judge(images)
	if err != nil {
		return Quality{}, err
	}
	generated, err := j.report(x)
	if err != nil {
		return Quality{}, err
	}
	return Quality{Dataset: j.Dataset, Generated: generated, Floor: j.floor}, nil
}

// evaluatorImages brings n images (NHWC [n, height, width, channels], values in [-1, 1]) to the
// evaluator's 28x28x1: other sizes are quantised to 8 bits (the form real images have) and
// resized bilinearly.
func evaluatorImages(samples []float32, n, height, width, channels int) ([]float32, error) {
	if n <= 0 || len(samples) != n*height*width*channels {
		return nil, fmt.Errorf("metrics: %d sample values for %d images of %dx%dx%d", len(samples), n, height, width, channels)
	}
	if channels != 1 {
		return nil, fmt.Errorf("metrics: the evaluator reads grey-scale images; the samples have %d channels", channels)
	}
	if height == ImageSide && width == ImageSide {
		return samples, nil
	}
	pixels := make([]uint8, len(samples))
	for i, v := range samples {
		pixels[i] = uint8(min(max((v+1)*127.5+0.5, 0), 255))
	}
	resized := (&data.Set{Images: pixels, Labels: make([]uint8, n), N: n, Height: height, Width: width, Channels: channels}).
		Resize(ImageSide, ImageSide)
	return resized.Float32(data.RangeMinusOneOne), nil
}
