package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// NPYImages are images read from a NumPy .npy file (np.save of a uint8 or float array), the form
// in which another framework's generator hands its samples to advlab's judge.
type NPYImages struct {
	// Pixels holds N·Height·Width·Channels values in [-1, 1] (a tanh generator's range), image
	// after image in height-width-channel order (NHWC), whatever the file's layout.
	Pixels []float32
	// N, Height, Width and Channels give the images' shape.
	N, Height, Width, Channels int
	// ChannelsFirst is true when the file held NCHW images (PyTorch's layout), transposed here.
	ChannelsFirst bool
}

// ReadNPYImages reads path, a .npy file of images shaped [N, H, W], [N, H, W, C] or [N, C, H, W]
// (C 1 or 3), of dtype uint8 (pixels 0..255), float32 or float64. Float pixels are in valueRange:
// RangeMinusOneOne ([-1, 1], a tanh output) or RangeZeroOne ([0, 1], a sigmoid output). The
// pixels come back mapped onto [-1, 1]. Values outside the range (beyond rounding), NaNs and
// infinities are errors that say where they are.
func ReadNPYImages(path string, valueRange Range) (NPYImages, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return NPYImages{}, err
	}
	images, err := parseNPYImages(raw, valueRange)
	if err != nil {
		return NPYImages{}, fmt.Errorf("%s: %w", path, err)
	}
	return images, nil
}

// npyMagic starts every .npy file.
var npyMagic = []byte("\x93NUMPY")

// parseNPYHeader splits a .npy file into its dtype, layout, shape and data bytes.
func parseNPYHeader(raw []byte) (descr string, fortran bool, shape []int, payload []byte, err error) {
	if !bytes.HasPrefix(raw, npyMagic) || len(raw) < 10 {
		return "", false, nil, nil, fmt.Errorf("not a .npy file (it does not start with \\x93NUMPY); save the images with numpy.save")
	}
	major := raw[6]
	var headerLen, start int
	switch major {
	case 1:
		headerLen, start = int(binary.LittleEndian.Uint16(raw[8:10])), 10
	case 2, 3:
		if len(raw) < 12 {
			return "", false, nil, nil, fmt.Errorf(".npy header truncated")
		}
		headerLen, start = int(binary.LittleEndian.Uint32(raw[8:12])), 12
	default:
		return "", false, nil, nil, fmt.Errorf(".npy format version %d.%d, want 1, 2 or 3", major, raw[7])
	}
	if headerLen < 0 || start+headerLen > len(raw) {
		return "", false, nil, nil, fmt.Errorf(".npy header of %d bytes runs past the file's %d bytes", headerLen, len(raw))
	}
	header := string(raw[start : start+headerLen])
	field := func(key string) (string, error) {
		i := strings.Index(header, "'"+key+"'")
		if i < 0 {
			return "", fmt.Errorf(".npy header %q has no %q", strings.TrimSpace(header), key)
		}
		rest := strings.TrimLeft(header[i+len(key)+2:], " ")
		if !strings.HasPrefix(rest, ":") {
			return "", fmt.Errorf(".npy header %q: no value after %q", strings.TrimSpace(header), key)
		}
		return strings.TrimLeft(rest[1:], " "), nil
	}
	value, err := field("descr")
	if err != nil {
		return "", false, nil, nil, err
	}
	if len(value) < 2 || value[0] != '\'' || strings.IndexByte(value[1:], '\'') < 0 {
		return "", false, nil, nil, fmt.Errorf(".npy header: descr %q is not a simple dtype string", value)
	}
	descr = value[1 : 1+strings.IndexByte(value[1:], '\'')]
	if value, err = field("fortran_order"); err != nil {
		return "", false, nil, nil, err
	}
	fortran = strings.HasPrefix(value, "True")
	if value, err = field("shape"); err != nil {
		return "", false, nil, nil, err
	}
	end := strings.IndexByte(value, ')')
	if !strings.HasPrefix(value, "(") || end < 0 {
		return "", false, nil, nil, fmt.Errorf(".npy header: shape %q is not a tuple", value)
	}
	for _, part := range strings.Split(value[1:end], ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		d, err := strconv.Atoi(part)
		if err != nil || d < 0 {
			return "", false, nil, nil, fmt.Errorf(".npy header: shape %q has a bad dimension %q", value[:end+1], part)
		}
		shape = append(shape, d)
	}
	return descr, fortran, shape, raw[start+headerLen:], nil
}

// parseNPYImages decodes the images of a .npy file held in memory (see ReadNPYImages).
func parseNPYImages(raw []byte, valueRange Range) (NPYImages, error) {
	descr, fortran, shape, payload, err := parseNPYHeader(raw)
	if err != nil {
		return NPYImages{}, err
	}
	if fortran {
		return NPYImages{}, fmt.Errorf("the array is in Fortran order; save a C-ordered one (numpy.ascontiguousarray)")
	}
	var out NPYImages
	switch {
	case len(shape) == 3:
		out.N, out.Height, out.Width, out.Channels = shape[0], shape[1], shape[2], 1
	case len(shape) == 4 && (shape[3] == 1 || shape[3] == 3):
		out.N, out.Height, out.Width, out.Channels = shape[0], shape[1], shape[2], shape[3]
	case len(shape) == 4 && (shape[1] == 1 || shape[1] == 3):
		out.N, out.Channels, out.Height, out.Width, out.ChannelsFirst = shape[0], shape[1], shape[2], shape[3], true
	default:
		return NPYImages{}, fmt.Errorf("shape %v: want images shaped [N, H, W], [N, H, W, C] or [N, C, H, W] with C 1 or 3", shape)
	}
	if out.N == 0 || out.Height == 0 || out.Width == 0 {
		return NPYImages{}, fmt.Errorf("shape %v holds no images", shape)
	}
	count := out.N * out.Height * out.Width * out.Channels
	size := map[string]int{"|u1": 1, "<u1": 1, "u1": 1, "<f4": 4, "<f8": 8}[descr]
	if size == 0 {
		return NPYImages{}, fmt.Errorf("dtype %q: want uint8 (|u1), float32 (<f4) or float64 (<f8), little-endian", descr)
	}
	if count > maxPayload/size || len(payload) != count*size {
		return NPYImages{}, fmt.Errorf("shape %v of %s needs %d data bytes, the file holds %d", shape, descr, count*size, len(payload))
	}
	values := make([]float32, count)
	switch size {
	case 1:
		for i, p := range payload {
			values[i] = float32(p)/127.5 - 1
		}
	default:
		lo, hi, name := float64(-1), float64(1), "[-1, 1]"
		if valueRange == RangeZeroOne {
			lo, name = 0, "[0, 1]"
		}
		const slack = 1e-3 // rounding of a tanh or sigmoid output
		for i := range values {
			var v float64
			if size == 4 {
				v = float64(math.Float32frombits(binary.LittleEndian.Uint32(payload[4*i:])))
			} else {
				v = math.Float64frombits(binary.LittleEndian.Uint64(payload[8*i:]))
			}
			if math.IsNaN(v) || math.IsInf(v, 0) || v < lo-slack || v > hi+slack {
				return NPYImages{}, fmt.Errorf("value %g at flat index %d (image %d) is outside %s, the range the pixels were said to be in",
					v, i, i/(count/out.N), name)
			}
			v = min(max(v, lo), hi)
			if valueRange == RangeZeroOne {
				v = 2*v - 1
			}
			values[i] = float32(v)
		}
	}
	if !out.ChannelsFirst {
		out.Pixels = values
		return out, nil
	}
	out.Pixels = make([]float32, count)
	h, w, c := out.Height, out.Width, out.Channels
	for n := 0; n < out.N; n++ {
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					out.Pixels[((n*h+y)*w+x)*c+ch] = values[((n*c+ch)*h+y)*w+x]
				}
			}
		}
	}
	return out, nil
}

// WriteNPYImages writes n NHWC float32 images (pixels flat, image after image) to path as a .npy
// file shaped [n, height, width, channels] that numpy.load reads: the form in which advlab's
// samples go to another framework's tools and the judge's input.
func WriteNPYImages(path string, pixels []float32, n, height, width, channels int) error {
	if n <= 0 || len(pixels) != n*height*width*channels {
		return fmt.Errorf("data: WriteNPYImages: %d values for %d images of %dx%dx%d", len(pixels), n, height, width, channels)
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d, %d), }", n, height, width, channels)
	header += strings.Repeat(" ", (64-(len(npyMagic)+4+len(header)+1)%64)%64) + "\n"
	out := make([]byte, 0, len(npyMagic)+4+len(header)+4*len(pixels))
	out = append(append(out, npyMagic...), 1, 0, byte(len(header)), byte(len(header)>>8))
	out = append(out, header...)
	for _, p := range pixels {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(p))
	}
	return os.WriteFile(path, out, 0o644)
}
