// Package torchfix reads the PyTorch parity fixtures written by scripts/fixtures/make_fixtures.py
// and converts PyTorch tensor layouts to advlab's (NHWC images, [kh, kw, in, out] kernels).
//
// # File format (".tfx", one file per case)
//
//	bytes 0-7     ASCII magic "TORCHFX1"
//	bytes 8-11    N, the length of the JSON header in bytes, uint32 little-endian
//	next N bytes  UTF-8 JSON: {"meta": {...}, "tensors": {"name": {"shape": [d0, d1, ...], "offset": k}, ...}}
//	rest          the tensors' values, float32 little-endian, row-major (C order); tensor "name"
//	              starts at float number k of this data section and holds product(shape) floats
//
// "meta" is free-form JSON describing the case (layer type, sizes, stride, padding, the PyTorch
// call that produced it, the layout of each tensor). Tensors are stored in PyTorch's own layouts
// (NCHW activations, Conv2d weights [out, in, kh, kw], ConvTranspose2d weights [in, out, kh, kw],
// Linear weights [out, in]); the converters below map them to advlab's.
package torchfix

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/gomlx/gomlx/core/tensors"
)

// Magic is the first 8 bytes of every fixture file.
const Magic = "TORCHFX1"

// Tensor is one float32 array of a fixture, row-major.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Fixture is the content of one fixture file.
type Fixture struct {
	// Path is the file the fixture was read from.
	Path string
	// Meta is the free-form description of the case.
	Meta map[string]any
	// Tensors maps each tensor name to its value.
	Tensors map[string]Tensor
}

type header struct {
	Meta    map[string]any `json:"meta"`
	Tensors map[string]struct {
		Shape  []int `json:"shape"`
		Offset int   `json:"offset"`
	} `json:"tensors"`
}

// Load reads the fixture file at path.
func Load(path string) (*Fixture, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("torchfix: %w", err)
	}
	if len(raw) < 12 || string(raw[:8]) != Magic {
		return nil, fmt.Errorf("torchfix: %s is not a fixture file (missing magic %q)", path, Magic)
	}
	n := int(binary.LittleEndian.Uint32(raw[8:12]))
	if 12+n > len(raw) {
		return nil, fmt.Errorf("torchfix: %s: header length %d exceeds the file size %d", path, n, len(raw))
	}
	var h header
	if err := json.Unmarshal(raw[12:12+n], &h); err != nil {
		return nil, fmt.Errorf("torchfix: %s: parsing the JSON header: %w", path, err)
	}
	data := raw[12+n:]
	if len(data)%4 != 0 {
		return nil, fmt.Errorf("torchfix: %s: data section of %d bytes is not a whole number of float32", path, len(data))
	}
	numFloats := len(data) / 4
	f := &Fixture{Path: path, Meta: h.Meta, Tensors: make(map[string]Tensor, len(h.Tensors))}
	for name, entry := range h.Tensors {
		size := 1
		for _, d := range entry.Shape {
			size *= d
		}
		if entry.Offset < 0 || entry.Offset+size > numFloats {
			return nil, fmt.Errorf("torchfix: %s: tensor %q (shape %v, offset %d) runs past the %d floats of data",
				path, name, entry.Shape, entry.Offset, numFloats)
		}
		values := make([]float32, size)
		for i := range values {
			values[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*(entry.Offset+i):]))
		}
		f.Tensors[name] = Tensor{Shape: slices.Clone(entry.Shape), Data: values}
	}
	return f, nil
}

// Get returns the tensor called name; it panics with the fixture's path and the available names
// when there is none, which in a test reads as a clear failure.
func (f *Fixture) Get(name string) Tensor {
	t, found := f.Tensors[name]
	if !found {
		names := make([]string, 0, len(f.Tensors))
		for n := range f.Tensors {
			names = append(names, n)
		}
		slices.Sort(names)
		panic(fmt.Sprintf("torchfix: %s has no tensor %q (it has %v)", f.Path, name, names))
	}
	return t
}

// Int returns the integer meta field key (JSON numbers decode as float64); it panics when absent.
func (f *Fixture) Int(key string) int {
	v, found := f.Meta[key].(float64)
	if !found {
		panic(fmt.Sprintf("torchfix: %s has no numeric meta field %q (meta: %v)", f.Path, key, f.Meta))
	}
	return int(v)
}

// Float returns the numeric meta field key; it panics when absent.
func (f *Fixture) Float(key string) float64 {
	v, found := f.Meta[key].(float64)
	if !found {
		panic(fmt.Sprintf("torchfix: %s has no numeric meta field %q (meta: %v)", f.Path, key, f.Meta))
	}
	return v
}

// Ints returns the meta field key holding a list of integers; it panics when absent.
func (f *Fixture) Ints(key string) []int {
	list, found := f.Meta[key].([]any)
	if !found {
		panic(fmt.Sprintf("torchfix: %s has no list meta field %q (meta: %v)", f.Path, key, f.Meta))
	}
	out := make([]int, len(list))
	for i, v := range list {
		out[i] = int(v.(float64))
	}
	return out
}

// Permute returns t with its axes reordered: axis i of the result is axis perm[i] of t
// (numpy's transpose(perm), PyTorch's permute(perm)).
func Permute(t Tensor, perm ...int) Tensor {
	rank := len(t.Shape)
	if len(perm) != rank {
		panic(fmt.Sprintf("torchfix.Permute: permutation %v for a tensor of rank %d", perm, rank))
	}
	outShape := make([]int, rank)
	for i, p := range perm {
		outShape[i] = t.Shape[p]
	}
	inStrides := strides(t.Shape)
	out := make([]float32, len(t.Data))
	index := make([]int, rank) // index in the output
	for flat := range out {
		src := 0
		for i, p := range perm {
			src += index[i] * inStrides[p]
		}
		out[flat] = t.Data[src]
		for axis := rank - 1; axis >= 0; axis-- { // increment the output index, row-major
			index[axis]++
			if index[axis] < outShape[axis] {
				break
			}
			index[axis] = 0
		}
	}
	return Tensor{Shape: outShape, Data: out}
}

func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// NCHWToNHWC converts a PyTorch image batch [B, C, H, W] to advlab's [B, H, W, C].
func NCHWToNHWC(t Tensor) Tensor { return Permute(t, 0, 2, 3, 1) }

// ConvWeight converts a PyTorch Conv2d weight [out, in, kh, kw] to advlab's [kh, kw, in, out].
func ConvWeight(t Tensor) Tensor { return Permute(t, 2, 3, 1, 0) }

// ConvTransposeWeight converts a PyTorch ConvTranspose2d weight [in, out, kh, kw] to advlab's
// [kh, kw, in, out] (the layout of nn.ConvTranspose2D's "weights").
func ConvTransposeWeight(t Tensor) Tensor { return Permute(t, 2, 3, 0, 1) }

// LinearWeight converts a PyTorch Linear weight [out, in] to advlab's [in, out].
func LinearWeight(t Tensor) Tensor { return Permute(t, 1, 0) }

// ToTensor copies t into a GoMLX float32 tensor.
func (t Tensor) ToTensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(slices.Clone(t.Data), t.Shape...)
}

// Tiny is the floor of the denominator of MaxRelError, so that an all-zero reference does not
// divide by zero.
const Tiny = 1e-12

// MaxRelError returns max|got − want| / max(max|want|, Tiny): the largest absolute difference
// relative to the largest magnitude of the reference. It panics if the lengths differ.
func MaxRelError(got, want []float32) float64 {
	if len(got) != len(want) {
		panic(fmt.Sprintf("torchfix.MaxRelError: %d values against %d", len(got), len(want)))
	}
	maxDiff, maxRef := 0.0, 0.0
	for i := range got {
		maxDiff = max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
		maxRef = max(maxRef, math.Abs(float64(want[i])))
	}
	return maxDiff / max(maxRef, Tiny)
}
