package active

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/advlab/advlab/lib/data"
	"github.com/advlab/advlab/lib/gan"
	"github.com/advlab/advlab/lib/nn"
	"github.com/advlab/advlab/lib/ssl"
	"github.com/advlab/advlab/lib/trainloop"
	"github.com/advlab/advlab/lib/vae"
)

// ARALConfig configures ARAL. Zero fields take the defaults.
type ARALConfig struct {
	// Steps is the number of training steps per round (default 300).
	Steps int
	// BatchSize is the number of labelled, unlabelled and generated images per step (default 64;
	// ARAL's MNIST: 100).
	BatchSize int
	// LatentDim is the size of z, the generator's input and the encoder's code (default 32;
	// ARAL: 100).
	LatentDim int
	// Hidden is the width of the networks' first hidden layer (default 500); the second is half.
	Hidden int
	// ClassifierWeight is cls_λ, the weight of the cross-entropy of generated images with their
	// conditioning label, in the classifier's and in the generator's loss (default 1).
	ClassifierWeight float64
	// TransductiveWeight and AdversaryWeight weigh the β-VAE loss (BetaVAELoss, summed over the
	// pixels) and the sampler-fooling loss in the generator and encoder's objective (defaults 0.01
	// and 0.001; ARAL's config: 0.001 and 0.001). On MNIST, 0.01 puts the reconstruction at the
	// scale of feature matching (about 1); with less the conditional generator draws the class from
	// y alone, the codes carry nothing the sampler can tell apart and its loss stays at 2·ln 2.
	TransductiveWeight, AdversaryWeight float64
	// Beta weighs the KL term (default 1).
	Beta float64
	// ClassifierLR, GeneratorLR and SamplerLR are the Adam step sizes (defaults 3e-3, 1e-3, 3e-3:
	// ARAL's MNIST values, with its betas (0.5, 0.9999) for the classifier and the sampler and
	// (0, 0.9999) for the generator and encoder).
	ClassifierLR, GeneratorLR, SamplerLR float64
}

func (c ARALConfig) withDefaults() ARALConfig {
	defaults := ARALConfig{Steps: 300, BatchSize: 64, LatentDim: 32, Hidden: 500, ClassifierWeight: 1,
		TransductiveWeight: 0.01, AdversaryWeight: 0.001, Beta: 1, ClassifierLR: 3e-3, GeneratorLR: 1e-3, SamplerLR: 3e-3}
	fill := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	fillInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	fillInt(&c.Steps, defaults.Steps)
	fillInt(&c.BatchSize, defaults.BatchSize)
	fillInt(&c.LatentDim, defaults.LatentDim)
	fillInt(&c.Hidden, defaults.Hidden)
	fill(&c.ClassifierWeight, defaults.ClassifierWeight)
	fill(&c.TransductiveWeight, defaults.TransductiveWeight)
	fill(&c.AdversaryWeight, defaults.AdversaryWeight)
	fill(&c.Beta, defaults.Beta)
	fill(&c.ClassifierLR, defaults.ClassifierLR)
	fill(&c.GeneratorLR, defaults.GeneratorLR)
	fill(&c.SamplerLR, defaults.SamplerLR)
	return c
}

// ARAL is adversarial representation active learning (Mottaghi & Yeung 2019): VAAL's latent
// selection, with the VAE replaced by a class-conditional encoder E(x, y) and generator G(z, y)
// trained together with a semi-supervised classifier C (Salimans et al. 2016's K-logit
// discriminator) on labelled, unlabelled and generated images. One training step, three updates
// in one graph (the networks are fully connected, after ARAL's MNIST models, narrower):
//
//	(1) C:      L_lab(x_L, y_L) + L_unl(x_U, G(z, y)) + cls_λ·CE(C(G(z, y)), y)      (lib/ssl's losses)
//	(2) G, E:   FM(x_U', G(z, y)) + cls_λ·CE(C(G(z, y)), y)
//	            + trd_λ·Σ_{(x,c) ∈ {(x_L, y_L), (x_U, ŷ_U)}} ‖x − G(z̃, c)‖² + β·KL(E(x, c) ‖ N(0, I))
//	            + adv_λ·[−log S(μ_L) − log S(μ_U)]
//	(3) S:      −log S(μ_L) − log(1 − S(μ_U))
//
// where z̃ ~ E(x, c) (reparameterised), μ its mean, ŷ_U = argmax C(x_U) (the classifier's label:
// the reference feeds ground-truth labels of pool images to the encoder, a leak), FM is feature
// matching on C's last hidden layer and x_U' a second unlabelled batch. The reconstruction term
// has a gradient (the reference detaches it). The query is the Budget unlabelled images with the
// LOWEST S(E(x, ŷ)) (the most unlabelled-like, as VAAL's Algorithm 2; the reference takes the
// highest), each score kept with its own pool index.
//
// Every round trains from scratch, like VAAL (the reference warm-starts each cycle from the
// last): a round is then a function of the pool alone, which the runner's exact resume needs. The
// runner's learner, not C, is the task model whose accuracy is measured; C's accuracy on the
// labelled set is reported in the round's metrics.
//
// An ARAL value keeps its compiled graphs from one round to the next, re-initialising the networks
// from each round's seed (keptNetworks).
type ARAL struct {
	// Config sets the networks and their training.
	Config ARALConfig

	kept keptNetworks[*aralTrainer]
}

// Name returns "aral".
func (*ARAL) Name() string { return "aral" }

// Scope paths of ARAL's networks (the sampler is under adversaryScope).
const (
	aralClassifierScope = "/classifier"
	aralGeneratorScope  = "/ge/generator"
	aralEncoderScope    = "/ge/encoder"
	aralGEScope         = "/ge"
)

type aralTrainer struct {
	cfg                     ARALConfig
	backend                 compute.Backend
	numClasses              int
	height, width, channels int
	store                   *model.Store
	step, score             *model.Exec
}

func relu(x *graph.Node) *graph.Node { return graph.Max(x, graph.ZerosLike(x)) }

// classifier is C: flatten → noise σ0.3 → Dense(Hidden) → ReLU → noise σ0.5 → Dense(Hidden/2) →
// ReLU (features) → Dense(K) logits.
func (t *aralTrainer) classifier(x *graph.Node) (logits, features *graph.Node) {
	scope := t.store.Scope(aralClassifierScope)
	h := graph.Reshape(x, x.Shape().Dimensions[0], -1)                                              // [B, P]
	h = relu(nn.Dense(scope.In("fc1"), nn.GaussianNoise(scope.In("noise1"), h, 0.3), t.cfg.Hidden)) // [B, 500]
	features = relu(nn.Dense(scope.In("fc2"), nn.GaussianNoise(scope.In("noise2"), h, 0.5), t.cfg.Hidden/2))
	return nn.Dense(scope.In("out"), features, t.numClasses), features // [B, K], [B, 250]
}

// generator is G(z, y): [z ⊕ onehot(y)] → Dense(Hidden) → BN → softplus → Dense(Hidden) → BN →
// softplus → Dense(P) → tanh, reshaped to images.
func (t *aralTrainer) generator(z, y *graph.Node) *graph.Node {
	scope := t.store.Scope(aralGeneratorScope)
	h := graph.Concatenate([]*graph.Node{z, graph.OneHot(y, t.numClasses, z.DType())}, -1) // [B, latent+K]
	for i := 1; i <= 2; i++ {
		h = nn.DenseNoBias(scope.In("fc%d", i), h, t.cfg.Hidden)     // [B, 500]
		h = nn.Softplus(nn.BatchNorm(scope.In("bn%d", i), h).Done()) // [B, 500]
	}
	pixels := t.height * t.width * t.channels
	out := graph.Tanh(nn.Dense(scope.In("out"), h, pixels))      // [B, P] in [-1, 1]
	return graph.Reshape(out, -1, t.height, t.width, t.channels) // [B, H, W, C]
}

// encoder is E(x, y): [flatten(x) ⊕ onehot(y)] → Dense(Hidden) → ReLU → Dense(Hidden/2) → ReLU →
// μ, log σ² (Dense(LatentDim) each).
func (t *aralTrainer) encoder(x, y *graph.Node) (mu, logvar *graph.Node) {
	scope := t.store.Scope(aralEncoderScope)
	h := graph.Reshape(x, x.Shape().Dimensions[0], -1)
	h = graph.Concatenate([]*graph.Node{h, graph.OneHot(y, t.numClasses, x.DType())}, -1) // [B, P+K]
	h = relu(nn.Dense(scope.In("fc1"), h, t.cfg.Hidden))                                  // [B, 500]
	h = relu(nn.Dense(scope.In("fc2"), h, t.cfg.Hidden/2))                                // [B, 250]
	return nn.Dense(scope.In("mu"), h, t.cfg.LatentDim), nn.Dense(scope.In("logvar"), h, t.cfg.LatentDim)
}

func (t *aralTrainer) sampler(mu *graph.Node) *graph.Node {
	return LatentAdversary(t.store.Scope(adversaryScope), mu)
}

// reconstruction is the β-VAE loss of images x under their class codes c (BetaVAELoss), and μ.
func (t *aralTrainer) reconstruction(x, c, eps *graph.Node) (loss, mu *graph.Node) {
	mu, logvar := t.encoder(x, c)
	recon := t.generator(vae.Reparameterize(mu, logvar, eps), c)
	return BetaVAELoss(x, recon, mu, logvar, t.cfg.Beta), mu
}

// freeze replaces the in-graph values of the variables under path by constants (their updated
// values), so that later losses in the same graph do not differentiate through their update.
func freeze(store *model.Store, path string, g *graph.Graph) {
	for v := range store.Scope(path).IterVariables() {
		if v.InUseByGraph(g) {
			v.SetNodeValue(graph.StopGradient(v.NodeValue(g)))
		}
	}
}

// newARALTrainer builds ARAL's networks and compiles their training graph.
func newARALTrainer(r *Round, cfg ARALConfig, numClasses int) (_ *aralTrainer, err error) {
	set := r.Pool.Set()
	t := &aralTrainer{cfg: cfg, backend: r.Backend, numClasses: numClasses, height: set.Height, width: set.Width,
		channels: set.Channels, store: model.NewStore()}
	defer func() {
		if err != nil {
			t.store.Finalize()
		}
	}()
	adam := func(lr, beta1 float64) optimizer.Interface {
		return optimizer.Adam().LearningRate(lr).Betas(beta1, 0.9999).Epsilon(1e-8).Done()
	}
	// Inputs: x_L, y_L, x_U, x_U', z, y (the generated images' classes), ε_L, ε_U.
	t.step, err = model.NewExec(r.Backend, t.store, func(_ *model.Scope, in []*graph.Node) *graph.Node {
		xL, yL, xU, xU2, z, y, epsL, epsU := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]
		g := xL.Graph()
		t.store.SetTraining(g, true)

		// (1) Update C: supervised + unsupervised (real unlabelled vs generated) + generated with their class.
		logitsL, _ := t.classifier(xL)
		logitsU, _ := t.classifier(xU)
		fake := t.generator(z, y)
		logitsFake, _ := t.classifier(graph.StopGradient(fake))
		lossC := graph.Add(graph.Add(ssl.SupervisedLoss(logitsL, yL), ssl.UnsupervisedLoss(logitsU, logitsFake)),
			graph.MulScalar(ssl.SupervisedLoss(logitsFake, y), cfg.ClassifierWeight))
		adam(cfg.ClassifierLR, 0.5).UpdateGraph(t.store.Scope(aralClassifierScope), g, lossC)
		freeze(t.store, aralClassifierScope, g)

		// (2) Update G and E: feature matching, class consistency, reconstruction, fooling S.
		_, featuresU2 := t.classifier(xU2)
		logitsFake2, featuresFake := t.classifier(fake)
		pseudo := graph.ArgMax(graph.StopGradient(logitsU), -1, dtypes.Int32) // ŷ_U, the classifier's labels
		trdL, muL := t.reconstruction(xL, yL, epsL)
		trdU, muU := t.reconstruction(xU, pseudo, epsU)
		adv := graph.Add(gan.BCEWithLogits(t.sampler(muL), 1), gan.BCEWithLogits(t.sampler(muU), 1))
		featureMatching := ssl.FeatureMatchingLoss(ssl.MeanSquared, featuresU2, featuresFake)
		classConsistency := ssl.SupervisedLoss(logitsFake2, y)
		lossGE := graph.Add(featureMatching, graph.MulScalar(classConsistency, cfg.ClassifierWeight))
		lossGE = graph.Add(lossGE, graph.MulScalar(graph.Add(trdL, trdU), cfg.TransductiveWeight))
		lossGE = graph.Add(lossGE, graph.MulScalar(adv, cfg.AdversaryWeight))
		adam(cfg.GeneratorLR, 0).UpdateGraph(t.store.Scope(aralGEScope), g, lossGE)

		// (3) Update S: labelled codes → 1, unlabelled codes → 0.
		lossS := gan.DiscriminatorLoss(t.sampler(graph.StopGradient(muL)), t.sampler(graph.StopGradient(muU)), 1)
		adam(cfg.SamplerLR, 0.5).UpdateGraph(t.store.Scope(adversaryScope), g, lossS)

		labelledErrors := graph.ConvertDType(ssl.Errors(logitsL, yL), dtypes.Float32)
		// The three losses and C's errors on the labelled batch (Select's metrics), then the terms of
		// the G and E loss (ARALLossNames).
		return graph.Stack([]*graph.Node{lossC, lossGE, lossS, labelledErrors,
			featureMatching, classConsistency, graph.Add(trdL, trdU), adv}, 0)
	})
	if err != nil {
		return nil, err
	}
	// Build and compile the training graph now, so that every variable exists before it runs
	// (keptNetworks returns to that state every round).
	b := cfg.BatchSize
	images := shapes.Make(dtypes.Float32, b, set.Height, set.Width, set.Channels)
	classes := shapes.Make(dtypes.Int32, b)
	codes := shapes.Make(dtypes.Float32, b, cfg.LatentDim)
	if _, err = t.step.Compile(images, classes, images, images, codes, classes, codes, codes); err != nil {
		return nil, fmt.Errorf("active: aral: compiling the training step: %w", err)
	}
	return t, nil
}

func (t *aralTrainer) storeOf() *model.Store { return t.store }

// scorer returns the scoring graph, S(E(x, ŷ)) with ŷ the classifier's label, in inference mode.
func (t *aralTrainer) scorer() (*model.Exec, error) {
	return inferenceExec(t.backend, &t.score, func() (*model.Exec, error) {
		return model.NewExec(t.backend, t.store, func(_ *model.Scope, x *graph.Node) *graph.Node {
			logits, _ := t.classifier(x)
			mu, _ := t.encoder(x, graph.ArgMax(logits, -1, dtypes.Int32))
			return graph.Sigmoid(t.sampler(mu))
		})
	})
}

// Select trains ARAL's networks on the round's pool and queries the unlabelled images with the
// lowest sampler score. Its metrics are the last losses of C, of G and E and of S, C's error rate
// on its last labelled batch, and the mean S of the labelled and of the unlabelled images.
func (s *ARAL) Select(ctx context.Context, r *Round) (Query, error) {
	trace, err := s.run(ctx, r, nil)
	if err != nil {
		return Query{}, err
	}
	return trace.Query, nil
}

// ARALLossNames name the values of an ARAL trace, one per training step each: the losses of C, of
// G and E and of S, C's error rate on the step's labelled batch, then the terms of the G and E
// loss: feature matching, the cross-entropy of generated images with their class, the β-VAE loss
// of the labelled and unlabelled batches (before trd_λ) and the sampler-fooling loss (before adv_λ).
var ARALLossNames = []string{"L_C", "L_GE", "L_S", "C batch error", "feature matching", "CE(C(G(z,y)), y)", "L_trd", "L_adv"}

// run is Select, returning with the query the values of every step and the score of every image
// (LatentTrace). after, when not nil, is called with the trained networks before they are freed.
func (s *ARAL) run(ctx context.Context, r *Round, after func(t *aralTrainer, trace *LatentTrace) error) (*LatentTrace, error) {
	cfg := s.Config.withDefaults()
	numClasses := r.Learner.NumClasses()
	set := r.Pool.Set()
	s.kept.mu.Lock()
	defer s.kept.mu.Unlock()
	key := struct {
		backend                          compute.Backend
		cfg                              ARALConfig
		classes, height, width, channels int
	}{r.Backend, cfg, numClasses, set.Height, set.Width, set.Channels}
	t, err := s.kept.get(key, r.Seed, func() (*aralTrainer, error) { return newARALTrainer(r, cfg, numClasses) })
	if err != nil {
		return nil, err
	}
	trace, err := t.round(ctx, r, s.Name(), after)
	if err != nil {
		s.kept.drop()
	}
	return trace, err
}

// round trains the networks from their initial state on r's pool and scores the pool.
func (t *aralTrainer) round(ctx context.Context, r *Round, name string,
	after func(t *aralTrainer, trace *LatentTrace) error) (*LatentTrace, error) {
	cfg, numClasses := t.cfg, t.numClasses
	labelled := r.Pool.TrainingSet()
	unlabelled := r.Pool.Unlabelled()
	trace := &LatentTrace{Strategy: name, LossNames: ARALLossNames, Losses: make([][]float64, len(ARALLossNames))}
	if len(unlabelled) == 0 {
		return trace, nil
	}
	b, size := cfg.BatchSize, t.height*t.width*t.channels
	rng := rand.New(rand.NewPCG(r.Seed, 0xa4a1))
	order := trainloop.NewOrder(r.Seed, b, len(unlabelled), len(unlabelled), labelled.N)
	xL, xU, xU2 := make([]float32, b*size), make([]float32, b*size), make([]float32, b*size)
	yL, y := make([]int32, b), make([]int32, b)
	image := func(values []float32) *tensors.Tensor { return imagesTensor(values, b, t.height, t.width, t.channels) }
	normal := func(dim int) *tensors.Tensor {
		return tensors.FromFlatDataAndDimensions(normalDraws(rng, b*dim), b, dim)
	}
	var losses []float32
	r.logf("aral: training the classifier, conditional generator, encoder and sampler, %d steps\n", cfg.Steps)
	for step := range cfg.Steps {
		if step%10 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		batch := order.Next()
		data.Images{Set: r.Pool.Set(), Indices: pick(unlabelled, batch[0]), Range: PixelRange}.Gather(seq(b), xU)
		data.Images{Set: r.Pool.Set(), Indices: pick(unlabelled, batch[1]), Range: PixelRange}.Gather(seq(b), xU2)
		labelled.Gather(batch[2], xL)
		for k, i := range batch[2] {
			yL[k] = int32(labelled.Labels[i])
			y[k] = int32(rng.IntN(numClasses))
		}
		out, err := t.step.Call(image(xL), tensors.FromValue(yL), image(xU), image(xU2), normal(cfg.LatentDim),
			tensors.FromValue(y), normal(cfg.LatentDim), normal(cfg.LatentDim))
		if err != nil {
			return nil, fmt.Errorf("active: aral: step %d: %w", step+1, err)
		}
		losses = tensors.MustCopyFlatData[float32](out[0])
		for k, v := range losses {
			if k == 3 {
				v /= float32(b) // errors → error rate
			}
			trace.Losses[k] = append(trace.Losses[k], float64(v))
		}
	}
	score, err := t.scorer()
	if err != nil {
		return nil, fmt.Errorf("active: aral: %w", err)
	}
	scores, err := lowestScores(r, score, unlabelled, labelled, size, t.height, t.width, t.channels)
	if err != nil {
		return nil, fmt.Errorf("active: aral: %w", err)
	}
	trace.setScores(r.Pool, unlabelled, scores)
	trace.Query = Query{Indices: scores.picked, Metrics: map[string]float64{
		"classifier_loss": float64(losses[0]), "generator_encoder_loss": float64(losses[1]), "sampler_loss": float64(losses[2]),
		"classifier_batch_error": float64(losses[3]) / float64(b),
		"s_labelled":             mean(scores.labelled), "s_unlabelled": mean(scores.unlabelled)}}
	if after != nil {
		if err := after(t, trace); err != nil {
			return nil, fmt.Errorf("active: aral: %w", err)
		}
	}
	return trace, nil
}
