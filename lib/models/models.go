// Package models holds the architectures of advlab's tutorials and papers, each written layer by
// layer from lib/nn with the shape every layer produces. Models are plain graph functions; they
// never import a training engine. A generator has the signature
//
//	func(scope *model.Scope, z *graph.Node) *graph.Node                          // z [B, latent] → images [B, H, W, C] in [-1, 1]
//
// and a discriminator
//
//	func(scope *model.Scope, x *graph.Node) (logits, features *graph.Node)      // images → logits [B, 1], features [B, F]
//
// which is what lib/gan's Generator and Discriminator types expect.
package models

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/nn"
)

// GeneratorFn is a generator graph function (see the package documentation).
type GeneratorFn = func(scope *model.Scope, z *graph.Node) *graph.Node

// DiscriminatorFn is a discriminator graph function (see the package documentation).
type DiscriminatorFn = func(scope *model.Scope, x *graph.Node) (logits, features *graph.Node)

// GAN bundles a generator, a discriminator and the facts a trainer needs about them.
type GAN struct {
	// Name identifies the architecture ("mlp", "dcgan28", "dcgan64").
	Name string
	// Generator and Discriminator are the two networks.
	Generator     GeneratorFn
	Discriminator DiscriminatorFn
	// LatentDim is the size of z.
	LatentDim int
	// Height, Width, Channels give the image shape both networks work on.
	Height, Width, Channels int
}

// Build creates both networks' variables by running them once on a batch of two zero inputs in
// training mode, and returns the generator's output shape, the discriminator's logits and
// features shapes, and the store holding the variables ("/generator/...", "/discriminator/...").
func (g GAN) Build() (store *model.Store, images, logits, features shapes.Shape, err error) {
	b, _, err := backend.New()
	if err != nil {
		return nil, images, logits, features, err
	}
	store = model.NewStore()
	outputs, err := model.CallOnceN(b, store, func(scope *model.Scope, z, x *graph.Node) []*graph.Node {
		store.SetTraining(z.Graph(), true)
		generated := g.Generator(store.Scope("/generator"), z)
		l, f := g.Discriminator(store.Scope("/discriminator"), x)
		return []*graph.Node{generated, l, f}
	}, tensors.FromShape(shapes.Make(dtypes.Float32, 2, g.LatentDim)),
		tensors.FromShape(shapes.Make(dtypes.Float32, 2, g.Height, g.Width, g.Channels)))
	if err != nil {
		return nil, images, logits, features, fmt.Errorf("models: building %s: %w", g.Name, err)
	}
	return store, outputs[0].Shape(), outputs[1].Shape(), outputs[2].Shape(), nil
}

// Summary returns a Keras-like summary of both networks: the output shapes (for a batch of 2) and
// every variable with its shape and parameter count.
func (g GAN) Summary() (string, error) {
	store, images, logits, features, err := g.Build()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Generator: z [2, %d] → %s\n%s\nDiscriminator: %s → logits %s, features %s\n%s",
		g.LatentDim, images, nn.Summary(store.Scope("/generator")),
		shapes.Make(dtypes.Float32, 2, g.Height, g.Width, g.Channels), logits, features,
		nn.Summary(store.Scope("/discriminator"))), nil
}
