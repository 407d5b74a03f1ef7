// Package metrics measures what a generative model produces and how well a classifier learns:
//
//   - an evaluator CNN for 28x28x1 images (one trained on MNIST, one on Fashion-MNIST, their weights
//     committed and embedded, verified by SHA-256), which classifies images and exposes its
//     penultimate layer as a 128-dimensional feature vector;
//   - the Fréchet distance between two Gaussians and FID, the Fréchet distance between Gaussians
//     fitted to the evaluator features of real and generated images (Heusel et al. 2017);
//   - class coverage, the mode-collapse meter: how many classes a generator's samples fall into,
//     and how far their class histogram is from uniform.
//
// The evaluator plays the part that Inception-v3 plays for FID on natural images: a fixed network
// whose features summarise what an image looks like. FID numbers on these features are comparable
// only with other FID numbers on the same evaluator (the same dataset's committed weights); they are
// not comparable with Inception FIDs in papers. See FID for the reference values measured here.
//
// Typical use in a GAN notebook:
//
//	eval, err := metrics.LoadEvaluator("mnist")
//	fid, err := metrics.FID(eval, realImages, 10000, fakeImages, 10000)
//	labels, _, err := eval.Classify(fakeImages, 10000)
//	report := metrics.Coverage(labels, 10, metrics.DefaultMinFraction)
package metrics
