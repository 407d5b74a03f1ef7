package nn

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Pad2D is the zero padding of a 2D convolution, in pixels, on each side of the image.
// For a transposed convolution the same four numbers say how many pixels are cropped from each
// side of the full output instead (PyTorch's padding), see ConvTranspose2DKernel.
type Pad2D struct {
	Top, Bottom, Left, Right int
}

// SymmetricPad returns the padding p on all four sides (PyTorch's Conv2d(padding=p)).
func SymmetricPad(p int) Pad2D { return Pad2D{Top: p, Bottom: p, Left: p, Right: p} }

// SamePad returns TensorFlow's padding='same' for a convolution of an input of size h×w with a
// square kernel and stride: the output is ceil(h/stride)×ceil(w/stride), and the total padding
// max((out−1)·stride + kernel − in, 0) of each axis is split with the smaller half first, e.g.
// (1, 2) for 28 → 14 with kernel 5 and stride 2 (PyTorch's symmetric padding would give (2, 2)).
func SamePad(h, w, kernel, stride int) Pad2D {
	top, bottom := samePad1D(h, kernel, stride)
	left, right := samePad1D(w, kernel, stride)
	return Pad2D{Top: top, Bottom: bottom, Left: left, Right: right}
}

func samePad1D(in, kernel, stride int) (before, after int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+kernel-in, 0)
	return total / 2, total - total/2
}

// Conv2DBuilder configures a 2D convolution layer created by Conv2D; call Done to build it.
type Conv2DBuilder struct {
	scope           *model.Scope
	x               *graph.Node
	filters, kernel int
	stride          int
	pad             Pad2D
	same, noBias    bool
}

// Conv2D starts building a 2D convolution layer (cross-correlation, like every deep-learning
// library) on the NHWC image batch x [B, H, W, Cin] with filters output channels and a square
// kernel of size kernel. Defaults: stride 1, no padding, with bias — PyTorch's
// nn.Conv2d(Cin, filters, kernel). The result has shape [B, OH, OW, filters] with
// OH = (H + top + bottom − kernel)/stride + 1 (rounded down), and likewise OW.
//
// Variables, created directly in scope: "weights" [kernel, kernel, Cin, filters] (PyTorch's
// [out, in, kh, kw] transposed to (2, 3, 1, 0)) and "biases" [filters], initialised as chosen by
// SetInit.
//
// It is computed as im2col (one Slice per kernel tap, Concatenate on channels, one Dot), never
// with graph.Convolve, whose input gradient is wrong for even kernels in GoMLX v0.28.8 (see the
// package documentation).
//
// Example, the second layer of the DCGAN discriminator, nn.Conv2d(64, 128, 4, 2, 1, bias=False):
//
//	x = nn.Conv2D(scope.In("conv2"), x, 128, 4).Stride(2).Padding(1).NoBias().Done()
func Conv2D(scope *model.Scope, x *graph.Node, filters, kernel int) *Conv2DBuilder {
	return &Conv2DBuilder{scope: scope, x: x, filters: filters, kernel: kernel, stride: 1}
}

// Stride sets the stride of both spatial axes (PyTorch's stride; default 1).
func (b *Conv2DBuilder) Stride(stride int) *Conv2DBuilder {
	b.stride = stride
	return b
}

// Padding sets the zero padding p on all four sides (PyTorch's padding=p; default 0).
func (b *Conv2DBuilder) Padding(p int) *Conv2DBuilder {
	b.pad, b.same = SymmetricPad(p), false
	return b
}

// PaddingPerSide sets an explicit, possibly asymmetric, zero padding.
func (b *Conv2DBuilder) PaddingPerSide(pad Pad2D) *Conv2DBuilder {
	b.pad, b.same = pad, false
	return b
}

// PaddingSame selects TensorFlow/Keras padding='same' (see SamePad): the output is
// ceil(H/stride) × ceil(W/stride), padded asymmetrically when the total padding is odd.
func (b *Conv2DBuilder) PaddingSame() *Conv2DBuilder {
	b.same = true
	return b
}

// NoBias removes the bias term (PyTorch's bias=False, Keras' use_bias=False).
func (b *Conv2DBuilder) NoBias() *Conv2DBuilder {
	b.noBias = true
	return b
}

// Done creates the variables and returns the convolution's output [B, OH, OW, filters].
func (b *Conv2DBuilder) Done() *graph.Node {
	x := b.x
	if x.Rank() != 4 {
		exceptions.Panicf("nn.Conv2D: input must be NHWC (rank 4), got shape %s", x.Shape())
	}
	if b.filters <= 0 || b.kernel <= 0 {
		exceptions.Panicf("nn.Conv2D: filters and kernel must be positive, got %d and %d", b.filters, b.kernel)
	}
	cin := x.Shape().Dimensions[3]
	pad := b.pad
	if b.same {
		pad = SamePad(x.Shape().Dimensions[1], x.Shape().Dimensions[2], b.kernel, b.stride)
	}
	k := b.kernel
	weights := weightVariable(b.scope, "weights", x.DType(), []int{k, k, cin, b.filters},
		cin*k*k, b.filters*k*k).NodeValue(x.Graph())
	y := Conv2DKernel(x, weights, b.stride, pad)
	if !b.noBias {
		biases := biasVariable(b.scope, "biases", x.DType(), b.filters, cin*k*k).NodeValue(x.Graph())
		y = graph.Add(y, graph.Reshape(biases, 1, 1, 1, b.filters))
	}
	return y
}

// Conv2DKernel is the convolution of Conv2D with a given kernel node and no variables, for layers
// that compute their own kernel (weight normalisation) and for tests: x [B, H, W, Cin] with
// kernel [kh, kw, Cin, Cout], the same stride on both axes and the zero padding pad. The result
// is [B, OH, OW, Cout] with OH = (H + pad.Top + pad.Bottom − kh)/stride + 1 (rounded down).
//
// How: a stride s > 1 is handled without strided slices (whose gradient needs interior padding,
// unsupported on ONNX Runtime) by padding the input to a multiple of s, reshaping it to
// [B, H/s, s, W/s, s, Cin] and slicing out the s² phases once; tap (i, j) of the kernel then reads
// phase (i mod s, j mod s) at offset (i div s, j div s) with a contiguous slice. The kh·kw tap
// slices are concatenated on the channel axis and multiplied by the kernel reshaped to
// [kh·kw·Cin, Cout] in one Dot, whose gradient (like that of Slice, Pad, Reshape and Concatenate)
// is exact on every backend.
func Conv2DKernel(x, kernel *graph.Node, stride int, pad Pad2D) *graph.Node {
	if x.Rank() != 4 || kernel.Rank() != 4 {
		exceptions.Panicf("nn.Conv2DKernel: want x NHWC (rank 4) and kernel [kh, kw, cin, cout], got %s and %s",
			x.Shape(), kernel.Shape())
	}
	if stride <= 0 {
		exceptions.Panicf("nn.Conv2DKernel: stride must be positive, got %d", stride)
	}
	if pad.Top < 0 || pad.Bottom < 0 || pad.Left < 0 || pad.Right < 0 {
		exceptions.Panicf("nn.Conv2DKernel: padding must not be negative, got %+v", pad)
	}
	xd, kd := x.Shape().Dimensions, kernel.Shape().Dimensions
	batch, h, w, cin := xd[0], xd[1], xd[2], xd[3]
	kh, kw, kcin, cout := kd[0], kd[1], kd[2], kd[3]
	if kcin != cin {
		exceptions.Panicf("nn.Conv2DKernel: input has %d channels but kernel %s expects %d", cin, kernel.Shape(), kcin)
	}
	oh := (h+pad.Top+pad.Bottom-kh)/stride + 1
	ow := (w+pad.Left+pad.Right-kw)/stride + 1
	if h+pad.Top+pad.Bottom < kh || w+pad.Left+pad.Right < kw {
		exceptions.Panicf("nn.Conv2DKernel: kernel %dx%d larger than padded input %dx%d (input %s, padding %+v)",
			kh, kw, h+pad.Top+pad.Bottom, w+pad.Left+pad.Right, x.Shape(), pad)
	}

	// Rows (and columns) of the padded input that the phases need: hq per phase, s phases.
	hq := (kh-1)/stride + oh
	wq := (kw-1)/stride + ow
	xp := padOrCrop(x, pad.Top, hq*stride-h-pad.Top, pad.Left, wq*stride-w-pad.Left)

	// phases[py][px] = xp[:, py::s, px::s, :], built by a reshape and contiguous slices.
	phases := make([][]*graph.Node, stride)
	if stride == 1 {
		phases[0] = []*graph.Node{xp}
	} else {
		split := graph.Reshape(xp, batch, hq, stride, wq, stride, cin)
		for py := range stride {
			phases[py] = make([]*graph.Node, stride)
			for px := range stride {
				phase := graph.Slice(split, graph.AxisRange(), graph.AxisRange(), graph.AxisElem(py),
					graph.AxisRange(), graph.AxisElem(px))
				phases[py][px] = graph.Reshape(phase, batch, hq, wq, cin)
			}
		}
	}
	patches := make([]*graph.Node, 0, kh*kw)
	for i := range kh {
		for j := range kw {
			src := phases[i%stride][j%stride]
			patches = append(patches, graph.Slice(src, graph.AxisRange(),
				graph.AxisRange(i/stride, i/stride+oh), graph.AxisRange(j/stride, j/stride+ow)))
		}
	}
	return im2colDot(patches, graph.Reshape(kernel, kh*kw*cin, cout))
}

// im2colDot concatenates the patches [B, OH, OW, Cin] (one per kernel tap) on the channel axis
// and multiplies them by kernelMatrix [taps·Cin, Cout], whose rows follow the same tap order.
func im2colDot(patches []*graph.Node, kernelMatrix *graph.Node) *graph.Node {
	cols := patches[0]
	if len(patches) > 1 {
		cols = graph.Concatenate(patches, 3)
	}
	d := cols.Shape().Dimensions
	flat := graph.Reshape(cols, d[0]*d[1]*d[2], d[3])
	if kernelMatrix.Shape().Dimensions[0] != d[3] {
		panic(fmt.Sprintf("nn: internal error: im2col has %d columns but the kernel matrix %s", d[3], kernelMatrix.Shape()))
	}
	out := graph.Dot(flat, kernelMatrix).Product()
	return graph.Reshape(out, d[0], d[1], d[2], kernelMatrix.Shape().Dimensions[1])
}

// padOrCrop zero-pads (positive amounts) or crops (negative amounts) the two spatial axes of the
// NHWC tensor x, using only contiguous Slice and non-interior Pad.
func padOrCrop(x *graph.Node, top, bottom, left, right int) *graph.Node {
	d := x.Shape().Dimensions
	if top < 0 || bottom < 0 || left < 0 || right < 0 {
		x = graph.Slice(x, graph.AxisRange(),
			graph.AxisRange(max(-top, 0), d[1]-max(-bottom, 0)),
			graph.AxisRange(max(-left, 0), d[2]-max(-right, 0)))
	}
	top, bottom, left, right = max(top, 0), max(bottom, 0), max(left, 0), max(right, 0)
	if top == 0 && bottom == 0 && left == 0 && right == 0 {
		return x
	}
	zero := graph.ScalarZero(x.Graph(), x.DType())
	return graph.Pad(x, zero, compute.PadAxis{}, compute.PadAxis{Start: top, End: bottom},
		compute.PadAxis{Start: left, End: right}, compute.PadAxis{})
}
