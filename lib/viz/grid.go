package viz

import (
	"fmt"
	"image"
	"math"
)

// Defaults of GridOptions, the same as torchvision's make_grid.
const (
	// DefaultPerRow is the number of images per row when GridOptions.PerRow is 0.
	DefaultPerRow = 8
	// DefaultPadding is the padding in pixels when GridOptions.Padding is 0.
	DefaultPadding = 2
)

// GridOptions configures Grid and GridUint8. The zero value gives
// torchvision's make_grid defaults with normalize=True: 8 images per row, 2
// pixels of black padding, values scaled by the batch's minimum and maximum.
type GridOptions struct {
	// PerRow is the number of images in each row of the grid (make_grid's
	// nrow). Zero means DefaultPerRow (8).
	PerRow int

	// Padding is the number of pixels between images and around the grid
	// (make_grid's padding). Zero means DefaultPadding (2); a negative value
	// means no padding at all.
	Padding int

	// Range, when set, is the value range [lo, hi] that maps to 0..255:
	// values are clamped to it first (make_grid's value_range). For
	// generators with a tanh output use &[2]float32{-1, 1}. When nil, Grid
	// maps the minimum of the images to 0 and the maximum to 255, and
	// GridUint8 uses [0, 255], that is, no change.
	Range *[2]float32

	// PerImageNormalize, when Range is nil, scales each image by its own
	// minimum and maximum instead of those of the whole batch (make_grid's
	// scale_each). It has no effect when Range is set.
	PerImageNormalize bool

	// PadValue is the colour of the padding in the output scale, from 0
	// (black, the default) to 1 (white), as make_grid's pad_value.
	PadValue float32

	// Scale is a nearest-neighbour upscaling factor applied to the whole
	// grid, padding included, so that small images (28x28 MNIST) stay sharp
	// when shown large. Zero and one mean no upscaling.
	Scale int
}

// Grid lays out n images stored as NHWC float32 values (images[((i*height+y)*width+x)*channels+c])
// in a grid, exactly as torchvision's make_grid followed by save_image's
// conversion to bytes (round(255*v) after clamping to [0, 1]):
//
//	columns = min(PerRow, n), rows = ceil(n / columns)
//	grid width  = columns*(width+padding)  + padding
//	grid height = rows*(height+padding) + padding
//
// Image k sits at column k%columns and row k/columns; the top-left pixel of
// its cell is at (padding + col*(width+padding), padding + row*(height+padding)).
// Cells after the last image keep the pad value. As in make_grid, a single
// image (n == 1) is returned as it is, without padding. Channels must be 1
// (grey, drawn with R=G=B) or 3 (RGB). The result is then upscaled by
// opts.Scale. Grid returns an error when the sizes are inconsistent.
func Grid(images []float32, n, height, width, channels int, opts GridOptions) (*image.RGBA, error) {
	if err := checkGridSizes(len(images), n, height, width, channels); err != nil {
		return nil, err
	}
	imageSize := height * width * channels

	// Value range per image: explicit, whole-batch min/max or per-image min/max.
	ranges := make([][2]float32, n)
	switch {
	case opts.Range != nil:
		for i := range ranges {
			ranges[i] = *opts.Range
		}
	case opts.PerImageNormalize:
		for i := range ranges {
			ranges[i] = minMax(images[i*imageSize : (i+1)*imageSize])
		}
	default:
		batch := minMax(images)
		for i := range ranges {
			ranges[i] = batch
		}
	}

	columns, rows, padding := gridLayout(n, opts)
	if n == 1 {
		padding = 0 // make_grid returns a single image as it is.
	}
	gridWidth := columns*(width+padding) + padding
	gridHeight := rows*(height+padding) + padding
	grid := image.NewRGBA(image.Rect(0, 0, gridWidth, gridHeight))

	pad := toByte(opts.PadValue)
	for i := 0; i < len(grid.Pix); i += 4 {
		grid.Pix[i], grid.Pix[i+1], grid.Pix[i+2], grid.Pix[i+3] = pad, pad, pad, 255
	}

	for k := range n {
		lo, hi := ranges[k][0], ranges[k][1]
		span := max(hi-lo, 1e-5) // make_grid's norm_ip guard.
		left := padding + (k%columns)*(width+padding)
		top := padding + (k/columns)*(height+padding)
		src := images[k*imageSize : (k+1)*imageSize]
		for y := range height {
			for x := range width {
				pixel := src[(y*width+x)*channels : (y*width+x+1)*channels]
				offset := grid.PixOffset(left+x, top+y)
				for c := range 3 {
					v := pixel[min(c, channels-1)] // Grey repeats its only channel.
					grid.Pix[offset+c] = toByte((clamp(v, lo, hi) - lo) / span)
				}
			}
		}
	}
	return upscale(grid, opts.Scale), nil
}

// GridUint8 is Grid for images already stored as bytes (0..255), such as raw
// MNIST. Unless opts.Range says otherwise the values are shown unchanged.
func GridUint8(images []uint8, n, height, width, channels int, opts GridOptions) (*image.RGBA, error) {
	values := make([]float32, len(images))
	for i, v := range images {
		values[i] = float32(v)
	}
	if opts.Range == nil {
		opts.Range = &[2]float32{0, 255}
	}
	return Grid(values, n, height, width, channels, opts)
}

// checkGridSizes reports inconsistent sizes given to Grid.
func checkGridSizes(length, n, height, width, channels int) error {
	if n <= 0 || height <= 0 || width <= 0 {
		return fmt.Errorf("viz: grid of %d images of %dx%d: all sizes must be positive", n, height, width)
	}
	if channels != 1 && channels != 3 {
		return fmt.Errorf("viz: grid images must have 1 or 3 channels, got %d", channels)
	}
	if want := n * height * width * channels; length != want {
		return fmt.Errorf("viz: grid of %d images of %dx%dx%d needs %d values, got %d",
			n, height, width, channels, want, length)
	}
	return nil
}

// gridLayout returns the number of columns and rows and the padding that
// make_grid uses for n images.
func gridLayout(n int, opts GridOptions) (columns, rows, padding int) {
	perRow := opts.PerRow
	if perRow <= 0 {
		perRow = DefaultPerRow
	}
	padding = opts.Padding
	switch {
	case padding == 0:
		padding = DefaultPadding
	case padding < 0:
		padding = 0
	}
	columns = min(perRow, n)
	rows = (n + columns - 1) / columns
	return columns, rows, padding
}

// minMax returns the smallest and largest finite values, or [0, 1] when there
// are none.
func minMax(values []float32) [2]float32 {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo > hi {
		return [2]float32{0, 1}
	}
	return [2]float32{lo, hi}
}

// clamp limits v to [lo, hi]; NaN becomes lo.
func clamp(v, lo, hi float32) float32 {
	if math.IsNaN(float64(v)) || v < lo {
		return lo
	}
	return min(v, hi)
}

// toByte converts a value of [0, 1] to 0..255 as save_image does:
// clamp(v*255 + 0.5, 0, 255) truncated.
func toByte(v float32) uint8 {
	scaled := v*255 + 0.5
	switch {
	case math.IsNaN(float64(scaled)) || scaled <= 0:
		return 0
	case scaled >= 255:
		return 255
	}
	return uint8(scaled)
}

// upscale enlarges img by an integer factor with nearest-neighbour sampling.
func upscale(img *image.RGBA, factor int) *image.RGBA {
	if factor <= 1 {
		return img
	}
	bounds := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, bounds.Dx()*factor, bounds.Dy()*factor))
	for y := range out.Rect.Dy() {
		srcRow := img.Pix[(y/factor)*img.Stride:]
		dstRow := out.Pix[y*out.Stride:]
		for x := range out.Rect.Dx() {
			copy(dstRow[4*x:4*x+4], srcRow[4*(x/factor):4*(x/factor)+4])
		}
	}
	return out
}
