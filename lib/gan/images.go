package gan

// Uint8Images adapts NHWC pixels in 0..255 (as lib/data's Set holds them) to Images, scaling
// each value v to v/127.5 − 1 in [-1, 1] (torchvision's ToTensor + Normalize(0.5, 0.5)).
type Uint8Images struct {
	// Pixels holds N·Height·Width·Channels values, NHWC.
	Pixels []uint8
	// N, Height, Width, Channels give the shape.
	N, Height, Width, Channels int
}

// Len implements Images.
func (u Uint8Images) Len() int { return u.N }

// Shape implements Images.
func (u Uint8Images) Shape() (int, int, int) { return u.Height, u.Width, u.Channels }

// Gather implements Images.
func (u Uint8Images) Gather(indices []int, dst []float32) {
	size := u.Height * u.Width * u.Channels
	for i, idx := range indices {
		src := u.Pixels[idx*size : (idx+1)*size]
		out := dst[i*size : (i+1)*size]
		for j, v := range src {
			out[j] = float32(v)/127.5 - 1
		}
	}
}

// FloatImages adapts NHWC float32 images already in [-1, 1] to Images.
type FloatImages struct {
	// Values holds N·Height·Width·Channels values, NHWC.
	Values []float32
	// N, Height, Width, Channels give the shape.
	N, Height, Width, Channels int
}

// Len implements Images.
func (f FloatImages) Len() int { return f.N }

// Shape implements Images.
func (f FloatImages) Shape() (int, int, int) { return f.Height, f.Width, f.Channels }

// Gather implements Images.
func (f FloatImages) Gather(indices []int, dst []float32) {
	size := f.Height * f.Width * f.Channels
	for i, idx := range indices {
		copy(dst[i*size:(i+1)*size], f.Values[idx*size:(idx+1)*size])
	}
}
