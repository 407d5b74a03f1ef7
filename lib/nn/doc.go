// Package nn holds the neural-network layers of advlab, with PyTorch's semantics (and
// TensorFlow/Keras' where a tutorial uses them) in outputs AND gradients, built on GoMLX v0.28.8
// graphs. Every layer is tested against fixtures computed by PyTorch
// (scripts/fixtures/make_fixtures.py, lib/nn/testdata).
//
// Conventions:
//
//   - Images are NHWC [batch, height, width, channels]; convolution kernels are
//     [kh, kw, in, out] (PyTorch's Conv2d weight [out, in, kh, kw] transposed (2, 3, 1, 0);
//     ConvTranspose2d's [in, out, kh, kw] transposed (2, 3, 0, 1)); dense weights are [in, out].
//   - A layer creates its variables directly in the scope it is given, so give each layer its own
//     sub-scope: nn.Dense(scope.In("fc1"), x, 128). Variable names: "weights", "biases" (Dense,
//     Conv2D, ConvTranspose2D); "scale", "offset", "running_mean", "running_var" (BatchNorm).
//   - Initial values follow PyTorch's defaults unless SetInit chose InitDCGAN or InitKeras for the
//     scope (or a parent scope).
//   - Layers with one option are plain functions (Dense/DenseNoBias, LeakyReLU); layers with
//     several are builders ending in Done(), like GoMLX's own:
//     nn.Conv2D(scope, x, 64, 4).Stride(2).Padding(1).NoBias().Done().
//   - Graph-building code panics with a message naming the layer and the shapes involved.
//
// # Training mode and layers that update state
//
// GoMLX v0.28.8 keeps "training" per graph: store.SetTraining(g, true) (a graph parameter, read by
// scope.IsTraining(g) from any scope of the store). Training graphs call it once at the start of
// their graph function; evaluation graphs leave it unset (false).
//
// A layer updates a non-trainable variable inside the graph the way BatchNorm updates its running
// statistics:
//
//	v := scope.WithInitializer(init).VariableWithShape("running_mean", shape).SetTrainable(false)
//	old := v.NodeValue(g)           // the value in this graph (already updated by an earlier use)
//	v.SetNodeValue(newValueNode)    // model.Exec returns it and stores it after the execution
//
// SetTrainable(false) keeps the optimizers (which only update trainable variables) and
// Scope.BuildTrainableVariablesGradientsGraph away from it. Wrap the new value's inputs in
// graph.StopGradient when nothing should differentiate through the update.
//
// # Why convolutions are not graph.Convolve (GoMLX v0.28.8)
//
// graph.Convolve runs forward correctly, and its gradient with respect to the kernel is correct,
// but its gradient with respect to the INPUT is wrong for every even kernel size (2×2, 4×4; all
// strides and paddings): it is the true gradient shifted by one pixel (GoMLX[h, w] equals the true
// gradient at [h+1, w+1]), so every layer below a 4×4 DCGAN convolution would train on a wrong
// gradient. The cause is in core/graph/ops_convolve.go, convVJPWrtX: the padding of the reverse
// convolution uses (kernelSize−1)/2 where kernelSize/2 belongs and vice versa, which only agree for
// odd kernels; the same code also panics ("failed to set up reverse Convolve() for gradient") for
// some large paddings. It cannot be repaired from outside (a custom gradient only sees the result
// after a row and a column are lost). TestConv2DInputGradientFiniteDifferences measures it against
// central finite differences in float64: relative error about 1 for kernels 2 and 4, 1e-12 for
// kernels 3 and 5, while Conv2DKernel stays at about 1e-12 for all of them. Input-dilated
// convolutions (the usual way to write a transposed convolution) have no gradient at all.
//
// Hence Conv2D and ConvTranspose2D are written as im2col — one Slice per kernel tap, Concatenate on
// the channel axis, one Dot with the kernel reshaped to a matrix — with strides handled by
// reshaping into phases rather than by strided slices (whose gradient needs interior padding,
// which ONNX Runtime lacks), and transposed convolutions decomposed into one stride-1 convolution
// per output phase. Their gradients are built from Slice, Pad, Reshape, Concatenate and Dot, exact
// on every backend, and the single Dot per layer is what the pure-Go backend's SIMD build
// accelerates (Convolve does not use SIMD).
package nn
