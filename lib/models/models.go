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
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
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
