// Package active is advlab's active-learning library: a pool of labelled and unlabelled images, an
// oracle that labels what a strategy asks for, learners retrained each round, the query strategies
// of the GAN-based active-learning papers behind one interface, and a runner that measures test
// accuracy round after round over several seeds, resumably.
//
// One round of pool-based (Settles 2009) or query-synthesis (Angluin 1988) active learning:
//
//	(1) Train:   the learner on every labelled example (pool images with their labels, plus the
//	             synthesised images the oracle has labelled), from scratch
//	(2) Measure: its accuracy on the test set
//	(3) Select:  the strategy picks Budget pool images, or synthesises Budget new images
//	(4) Label:   the oracle labels them (ground truth for pool images; the evaluator CNN of
//	             lib/metrics for synthesised ones, with its confidence) and they join the labelled set
//
// The strategies (see Strategies for their names):
//
//   - random: Budget unlabelled images drawn uniformly (passive learning, the baseline);
//   - entropy, margin, least-confidence: uncertainty sampling on the learner's class probabilities
//     (Settles 2009, §3.1): the highest −Σ p log p, the smallest p₁ − p₂, the smallest max p;
//   - svm-active: the pool images closest to a linear SVM's hyperplane, smallest |wᵀx + b|
//     (Tong & Koller 2001, "simple margin");
//   - gaal: query synthesis with a GAN (Zhu & Bento 2017): from z ~ N(0, I), gradient steps on z
//     minimise the squared distance (wᵀG(z) + b)²/‖w‖² of the generated image to the SVM's
//     hyperplane; G(z*) goes to the oracle;
//   - gaal-mixed: GAAL's mixed scheme (Zhu & Bento 2017, fig. 6): one random round after every
//     five GAAL rounds;
//   - gan-random: G(z) for random z ~ N(0, I), labelled by the oracle (the paper's "simple GAN");
//   - vaal: variational adversarial active learning (Sinha et al. 2019): a β-VAE and a latent
//     discriminator D trained adversarially on labelled vs unlabelled images; the Budget
//     unlabelled images with the lowest D(μ) are queried;
//   - aral: adversarial representation active learning (Mottaghi & Yeung 2019): VAAL's selection
//     on the latent code of a class-conditional encoder trained together with a conditional
//     generator and a semi-supervised classifier on labelled, unlabelled and generated images;
//   - al-gan: the "AL-GAN" of the active-learning-in-GANs article: noise z chosen by gradient
//     steps where the discriminator is least certain, |D(G(z)) − ½| small, under a regulariser
//     λ·R(z) that keeps z in the prior's typical set; among the candidates G(z*) the learner's
//     most uncertain go to the oracle (see ALGAN).
//
// Images are float32 NHWC with pixels in [-1, 1] everywhere in this package (PixelRange): the
// range of a tanh generator and of the evaluator, so that a synthesised image and a pool image are
// the same kind of input for the learner (the PyTorch-GAAL reproduction mixes a [-1, 1] generator
// with [0, 1] data).
//
// Learners: a linear SVM trained on pixels with the hinge loss (binary tasks such as MNIST 5 vs 7,
// GAAL's setting) and a small CNN (any number of classes). Both are retrained from scratch every
// round from a seed derived from the run's seed, the repeat and the round, so a round's result is
// a function of the labelled set alone; the runner relies on it to resume an interrupted run
// exactly.
//
// A run from Go (the `advlab al` command does the same from flags):
//
//	train, _ := data.Load("mnist", data.Train)
//	test, _ := data.Load("mnist", data.Test)
//	task, _ := active.NewTask(train, test, []int{5, 7})           // labels 0 (a 5) and 1 (a 7)
//	eval, _ := metrics.LoadEvaluator("mnist")                      // the oracle of synthesised images
//	names := []string{"random", "svm-active", "gaal"}
//	strategies, _ := active.NewStrategies(names, active.Options{GAN: active.NewGAN(active.GANConfig{})})
//	runner := &active.Runner{
//		Config: active.Config{Task: task.String(), Learner: "svm", Strategies: names,
//			Initial: 50, Budget: 10, Rounds: 30, Repeats: 3, Seed: 1},
//		Task: task, Strategies: strategies, Oracle: active.NewOracle(task.Train, eval, task.Classes),
//		NewLearner: func() active.Learner { return active.NewSVM(active.SVMConfig{}) },
//		Backend: backend.MustNew(), Out: "runs/gaal", Progress: os.Stderr,
//	}
//	results, err := runner.Run(ctx)                                 // results.Curves: mean ± std per round
//
// Problems of the reference implementations this package does not reproduce:
// GAAL's generator and SVM see the same pixel range; VAAL's discriminator sees μ and selects the
// lowest D(μ) (as the paper's Algorithm 2); ARAL encodes pool images with the classifier's
// predicted label, never the ground truth, maps every score back to the pool index it belongs to,
// queries the LOWEST sampler score (the most "unlabelled-like", as VAAL, where the reference code
// takes the highest), and its reconstruction term has a gradient.
package active
