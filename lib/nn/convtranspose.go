package nn

import (
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// ConvTranspose2DBuilder configures a transposed 2D convolution layer created by ConvTranspose2D;
// call Done to build it.
type ConvTranspose2DBuilder struct {
	scope           *model.Scope
	x               *graph.Node
	filters, kernel int
	stride          int
	padding         int
	outputPadding   int
	same, noBias    bool
}

// ConvTranspose2D starts building a transposed 2D convolution ("deconvolution") layer with PyTorch's
// semantics on the NHWC batch x [B, H, W, Cin], with filters output channels and a square kernel.
// Defaults: stride 1, padding 0, output padding 0, with bias — PyTorch's
// nn.ConvTranspose2d(Cin, filters, kernel). Each input pixel (i, j) adds kernel[a, b]·x[i, j] to the
// output pixel (i·stride − padding + a, j·stride − padding + b); the output has
// OH = (H − 1)·stride − 2·padding + kernel + outputPadding rows (likewise OW).
//
// Variables, created directly in scope: "weights" [kernel, kernel, Cin, filters] (PyTorch's
// [in, out, kh, kw] transposed to (2, 3, 0, 1)) and "biases" [filters], initialised as chosen by
// SetInit (PyTorch's fan-in for ConvTranspose2d is filters·kernel²).
//
// It is computed by phase decomposition (see ConvTranspose2DKernel) on the same im2col path as
// Conv2D, never with input-dilated convolutions (which have no gradient in GoMLX v0.28.8).
//
// Examples, the DCGAN generator: nn.ConvTranspose2d(100, 512, 4, 1, 0, bias=False) on z [B,1,1,100]
// and nn.ConvTranspose2d(512, 256, 4, 2, 1, bias=False):
//
//	x = nn.ConvTranspose2D(scope.In("convt1"), z, 512, 4).NoBias().Done()                     // [B, 4, 4, 512]
//	x = nn.ConvTranspose2D(scope.In("convt2"), x, 256, 4).Stride(2).Padding(1).NoBias().Done() // [B, 8, 8, 256]
func ConvTranspose2D(scope *model.Scope, x *graph.Node, filters, kernel int) *ConvTranspose2DBuilder {
	return &ConvTranspose2DBuilder{scope: scope, x: x, filters: filters, kernel: kernel, stride: 1}
}

// Stride sets the stride (PyTorch's stride; default 1): the output is about stride times larger.
func (b *ConvTranspose2DBuilder) Stride(stride int) *ConvTranspose2DBuilder {
	b.stride = stride
	return b
}

// Padding sets PyTorch's padding p (default 0): p pixels are cropped from each side of the full
// transposed-convolution output.
func (b *ConvTranspose2DBuilder) Padding(p int) *ConvTranspose2DBuilder {
	b.padding, b.same = p, false
	return b
}

// OutputPadding sets PyTorch's output_padding (default 0): extra rows and columns kept at the
// bottom and right of the output (it must be smaller than the stride).
func (b *ConvTranspose2DBuilder) OutputPadding(p int) *ConvTranspose2DBuilder {
	b.outputPadding = p
	return b
}

// PaddingSame selects Keras' Conv2DTranspose(padding='same'): the output is exactly
// H·stride × W·stride, and the layer is the transpose (gradient) of a Conv2D with
// padding='same' from that output size, i.e. max(kernel − stride, 0) pixels cropped, the smaller
// half at the top/left. For kernel 5: stride 1 is PyTorch's padding=2; stride 2 (7→14, 14→28)
// crops (1, 2), which is PyTorch's ConvTranspose2d(k=5, s=2, padding=1) with its last row and
// column dropped — not padding=2 with output_padding=1, which is shifted by one pixel.
func (b *ConvTranspose2DBuilder) PaddingSame() *ConvTranspose2DBuilder {
	b.same = true
	return b
}

// NoBias removes the bias term (PyTorch's bias=False, Keras' use_bias=False).
func (b *ConvTranspose2DBuilder) NoBias() *ConvTranspose2DBuilder {
	b.noBias = true
	return b
}

// Done creates the variables and returns the output [B, OH, OW, filters].
func (b *ConvTranspose2DBuilder) Done() *graph.Node {
	x := b.x
	if x.Rank() != 4 {
		exceptions.Panicf("nn.ConvTranspose2D: input must be NHWC (rank 4), got shape %s", x.Shape())
	}
	if b.filters <= 0 || b.kernel <= 0 || b.stride <= 0 {
		exceptions.Panicf("nn.ConvTranspose2D: filters, kernel and stride must be positive, got %d, %d, %d",
			b.filters, b.kernel, b.stride)
	}
	if !b.same && (b.outputPadding < 0 || b.outputPadding >= max(b.stride, 1) || b.padding < 0) {
		exceptions.Panicf("nn.ConvTranspose2D: need padding >= 0 and 0 <= output padding < stride (as PyTorch), got padding %d, output padding %d, stride %d",
			b.padding, b.outputPadding, b.stride)
	}
	k := b.kernel
	cin := x.Shape().Dimensions[3]
	crop := Pad2D{Top: b.padding, Bottom: b.padding - b.outputPadding, Left: b.padding, Right: b.padding - b.outputPadding}
	if b.same {
		total := max(k-b.stride, 0)
		before := total / 2
		after := k - b.stride - before // full size (H−1)s+k minus before minus H·s; negative when k < s.
		crop = Pad2D{Top: before, Bottom: after, Left: before, Right: after}
	}
	weights := weightVariable(b.scope, "weights", x.DType(), []int{k, k, cin, b.filters},
		b.filters*k*k, cin*k*k).NodeValue(x.Graph())
	y := ConvTranspose2DKernel(x, weights, b.stride, crop)
	if !b.noBias {
		biases := biasVariable(b.scope, "biases", x.DType(), b.filters, b.filters*k*k).NodeValue(x.Graph())
		y = graph.Add(y, graph.Reshape(biases, 1, 1, 1, b.filters))
	}
	return y
}

// ConvTranspose2DKernel is the transposed convolution of ConvTranspose2D with a given kernel node
// and no variables: x [B, H, W, Cin], kernel [kh, kw, Cin, Cout], the same stride on both axes.
// The full output y[n, i·s + a, j·s + b, :] += x[n, i, j, :]·kernel[a, b] has (H−1)·s + kh rows and
// (W−1)·s + kw columns; crop removes crop.Top rows from its top, crop.Bottom from its bottom (and
// likewise left/right), so OH = (H−1)·s + kh − crop.Top − crop.Bottom. A negative crop adds zero
// rows (before the bias). PyTorch's (padding p, output_padding op) is crop (p, p − op).
//
// How (phase decomposition): output rows o = s·q + φ of one phase φ only receive kernel taps
// a ≡ φ + crop.Top (mod s), so each of the s² output phases is an ordinary stride-1 convolution of
// the (padded) input with a sub-kernel of the taps of its phase, in reverse order; each runs as
// im2col (Slice per tap, Concatenate, one Dot), and the phases are interleaved with Stack and
// Reshape. For kernel 4, stride 2, padding 1 these are four 2×2 convolutions. A 1×1 input with no
// crop (the first DCGAN generator layer) is a single Dot.
func ConvTranspose2DKernel(x, kernel *graph.Node, stride int, crop Pad2D) *graph.Node {
	if x.Rank() != 4 || kernel.Rank() != 4 {
		exceptions.Panicf("nn.ConvTranspose2DKernel: want x NHWC (rank 4) and kernel [kh, kw, cin, cout], got %s and %s",
			x.Shape(), kernel.Shape())
	}
	if stride <= 0 {
		exceptions.Panicf("nn.ConvTranspose2DKernel: stride must be positive, got %d", stride)
	}
	xd, kd := x.Shape().Dimensions, kernel.Shape().Dimensions
	batch, h, w, cin := xd[0], xd[1], xd[2], xd[3]
	kh, kw, kcin, cout := kd[0], kd[1], kd[2], kd[3]
	if kcin != cin {
		exceptions.Panicf("nn.ConvTranspose2DKernel: input has %d channels but kernel %s expects %d", cin, kernel.Shape(), kcin)
	}
	oh := (h-1)*stride + kh - crop.Top - crop.Bottom
	ow := (w-1)*stride + kw - crop.Left - crop.Right
	if oh <= 0 || ow <= 0 {
		exceptions.Panicf("nn.ConvTranspose2DKernel: output would be %dx%d (input %s, kernel %s, stride %d, crop %+v)",
			oh, ow, x.Shape(), kernel.Shape(), stride, crop)
	}

	// A single input pixel and no cropping: y[n, a, b, :] = x[n, 0, 0, :]·kernel[a, b], one Dot.
	if h == 1 && w == 1 && crop == (Pad2D{}) {
		k := graph.Reshape(graph.TransposeAllDims(kernel, 2, 0, 1, 3), cin, kh*kw*cout) // [cin, kh·kw·cout]
		y := graph.Dot(graph.Reshape(x, batch, cin), k).Product()
		return graph.Reshape(y, batch, kh, kw, cout)
	}

	rows := transposedPhases(h, kh, stride, crop.Top, oh)
	cols := transposedPhases(w, kw, stride, crop.Left, ow)
	qh, qw := rows[0].length, cols[0].length

	// Pad the input once, enough for every phase.
	padTop, padBottom := phasePadding(rows, h)
	padLeft, padRight := phasePadding(cols, w)
	xp := padOrCrop(x, padTop, padBottom, padLeft, padRight)

	phaseRows := make([]*graph.Node, stride)
	for py, rp := range rows {
		phaseCols := make([]*graph.Node, stride)
		for px, cp := range cols {
			if len(rp.taps) == 0 || len(cp.taps) == 0 {
				phaseCols[px] = graph.Zeros(x.Graph(), shapes.Make(x.DType(), batch, qh, qw, cout))
				continue
			}
			patches := make([]*graph.Node, 0, len(rp.taps)*len(cp.taps))
			kernelRows := make([]*graph.Node, 0, len(rp.taps)*len(cp.taps))
			for u, a := range rp.taps {
				for v, bb := range cp.taps {
					top, left := rp.start+u+padTop, cp.start+v+padLeft
					patches = append(patches, graph.Slice(xp, graph.AxisRange(),
						graph.AxisRange(top, top+qh), graph.AxisRange(left, left+qw)))
					tap := graph.Slice(kernel, graph.AxisElem(a), graph.AxisElem(bb))
					kernelRows = append(kernelRows, graph.Reshape(tap, cin, cout))
				}
			}
			phaseCols[px] = im2colDot(patches, graph.Concatenate(kernelRows, 0))
		}
		if stride == 1 {
			phaseRows[py] = phaseCols[0]
		} else {
			phaseRows[py] = graph.Stack(phaseCols, 3) // [B, qh, qw, s, cout]
		}
	}
	y := phaseRows[0]
	if stride > 1 {
		y = graph.Reshape(graph.Stack(phaseRows, 2), batch, qh*stride, qw*stride, cout) // from [B, qh, s, qw, s, cout]
	}
	if qh*stride != oh || qw*stride != ow {
		y = graph.Slice(y, graph.AxisRange(), graph.AxisRange(0, oh), graph.AxisRange(0, ow))
	}
	return y
}

// transposedPhase describes, along one axis, the stride-1 convolution that computes the output
// positions o = s·q + φ (q = 0 … length−1) of one phase φ of a transposed convolution: output q
// reads input positions start + q + u for u = 0 … len(taps)−1, multiplied by kernel tap taps[u].
type transposedPhase struct {
	start  int
	length int
	taps   []int
}

// transposedPhases decomposes one axis of a transposed convolution (input size in, kernel size
// k, stride s, cropBefore output positions cropped at the start, out outputs) into its s phases.
// Full-output position o + cropBefore = i·s + a receives input i through tap a.
func transposedPhases(in, k, s, cropBefore, out int) []transposedPhase {
	length := (out + s - 1) / s
	phases := make([]transposedPhase, s)
	for phi := range s {
		first := ((phi+cropBefore)%s + s) % s // first tap a ≡ φ + cropBefore (mod s)
		d := (phi + cropBefore - first) / s   // input index of tap `first` for q = 0
		var taps []int
		for a := first; a < k; a += s {
			taps = append(taps, a)
		}
		// taps[t] reads input q + d − t; in increasing input order u = T−1−t.
		slices := make([]int, len(taps))
		for u := range taps {
			slices[u] = taps[len(taps)-1-u]
		}
		phases[phi] = transposedPhase{start: d - len(taps) + 1, length: length, taps: slices}
	}
	return phases
}

// phasePadding returns the zero padding (negative: cropping) of an input axis of size in that
// makes every phase's reads start + q + u fall inside the padded input.
func phasePadding(phases []transposedPhase, in int) (before, after int) {
	first, last := 0, in-1
	for _, p := range phases {
		if len(p.taps) == 0 {
			continue
		}
		first = min(first, p.start)
		last = max(last, p.start+p.length+len(p.taps)-2)
	}
	return -first, last - (in - 1)
}
