package data

// Images is a view of images of a Set for the training engines (lib/gan, lib/vae, lib/ssl): the
// images at Indices (every image of Set, in order, when Indices is nil), gathered into float32
// NHWC batches with their pixels mapped onto Range. The zero Range gives [0, 1] (a VAE's Bernoulli
// decoder, a sigmoid generator); a tanh generator wants RangeMinusOneOne.
type Images struct {
	// Set holds the images and labels.
	Set *Set
	// Indices are the images of Set in this view, in order (nil: all of them).
	Indices []int
	// Range is the interval pixels are mapped onto.
	Range Range
}

// Len is the number of images in the view.
func (v Images) Len() int {
	if v.Indices == nil {
		return v.Set.N
	}
	return len(v.Indices)
}

// Shape is the height, width and channels of one image.
func (v Images) Shape() (height, width, channels int) {
	return v.Set.Height, v.Set.Width, v.Set.Channels
}

// index returns the index in Set of the view's image i.
func (v Images) index(i int) int {
	if v.Indices == nil {
		return i
	}
	return v.Indices[i]
}

// Gather writes the view's images at indices, mapped onto Range, into dst (len(indices)·h·w·c
// floats).
func (v Images) Gather(indices []int, dst []float32) {
	mul, add := v.Range.scale()
	size := v.Set.ImageSize()
	for i, idx := range indices {
		out := dst[i*size : (i+1)*size]
		for j, p := range v.Set.Image(v.index(idx)) {
			out[j] = float32(p)*mul + add
		}
	}
}

// Label is the class of the view's image i.
func (v Images) Label(i int) int { return int(v.Set.Labels[v.index(i)]) }

// Floats is an in-memory set of N float32 images, NHWC, already in the range a model wants
// (synthetic data, tests, PyTorch fixtures), with labels when Labels is set. It gathers like Images.
type Floats struct {
	// Values holds N·Height·Width·Channels values, NHWC.
	Values []float32
	// Labels holds the N classes (nil for unlabelled images).
	Labels []int
	// N, Height, Width, Channels give the shape.
	N, Height, Width, Channels int
}

// Len is the number of images.
func (f Floats) Len() int { return f.N }

// Shape is the height, width and channels of one image.
func (f Floats) Shape() (height, width, channels int) { return f.Height, f.Width, f.Channels }

// Gather writes the images at indices into dst (len(indices)·h·w·c floats).
func (f Floats) Gather(indices []int, dst []float32) {
	size := f.Height * f.Width * f.Channels
	for i, idx := range indices {
		copy(dst[i*size:(i+1)*size], f.Values[idx*size:(idx+1)*size])
	}
}

// Label is the class of image i.
func (f Floats) Label(i int) int { return f.Labels[i] }
