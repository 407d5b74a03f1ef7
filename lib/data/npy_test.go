package data

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// npyFile encodes values the way numpy.save (format 1.0) does: the magic, the version, a
// little-endian header length and a Python-dict header padded with spaces to a multiple of 64
// bytes and ended by a newline.
func npyFile(descr string, shape []int, payload []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	for (10+len(header)+1)%64 != 0 {
		header += " "
	}
	header += "\n"
	out := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	return append(append(out, header...), payload...)
}

func float32Bytes(values ...float32) []byte {
	out := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}

func TestNPYImagesLayoutsAndRanges(t *testing.T) {
	// Two 2x3 single-channel images: NHW float32 in [-1, 1] come back unchanged.
	values := []float32{-1, -0.5, 0, 0.25, 0.5, 1, 1, 0.5, 0, -0.25, -0.5, -1}
	got, err := parseNPYImages(npyFile("<f4", []int{2, 2, 3}, float32Bytes(values...)), RangeMinusOneOne)
	if err != nil {
		t.Fatal(err)
	}
	if got.N != 2 || got.Height != 2 || got.Width != 3 || got.Channels != 1 || got.ChannelsFirst {
		t.Fatalf("shape %d×%d×%d×%d (channels first %v), want 2×2×3×1", got.N, got.Height, got.Width, got.Channels, got.ChannelsFirst)
	}
	for i, v := range values {
		if got.Pixels[i] != v {
			t.Fatalf("pixel %d = %g, want %g", i, got.Pixels[i], v)
		}
	}

	// [0, 1] floats map onto [-1, 1]: 0 → -1, 0.75 → 0.5.
	got, err = parseNPYImages(npyFile("<f4", []int{1, 1, 2, 1}, float32Bytes(0, 0.75)), RangeZeroOne)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pixels[0] != -1 || got.Pixels[1] != 0.5 {
		t.Fatalf("[0, 1] pixels 0, 0.75 became %v, want [-1 0.5]", got.Pixels)
	}

	// uint8: 0 → -1, 255 → 1, in any range.
	got, err = parseNPYImages(npyFile("|u1", []int{1, 2, 1}, []byte{0, 255}), RangeZeroOne)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pixels[0] != -1 || got.Pixels[1] != 1 {
		t.Fatalf("uint8 pixels 0, 255 became %v, want [-1 1]", got.Pixels)
	}

	// NCHW (PyTorch's layout), one 2x2 RGB image: planes R = 0.1.., G = 0.2.., B = 0.3.. become
	// interleaved pixels.
	nchw := []float32{0.11, 0.12, 0.13, 0.14, 0.21, 0.22, 0.23, 0.24, 0.31, 0.32, 0.33, 0.34}
	got, err = parseNPYImages(npyFile("<f4", []int{1, 3, 2, 2}, float32Bytes(nchw...)), RangeMinusOneOne)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0.11, 0.21, 0.31, 0.12, 0.22, 0.32, 0.13, 0.23, 0.33, 0.14, 0.24, 0.34}
	if !got.ChannelsFirst || got.Height != 2 || got.Width != 2 || got.Channels != 3 {
		t.Fatalf("NCHW file read as %d×%d×%d (channels first %v), want 2×2×3 channels first", got.Height, got.Width, got.Channels, got.ChannelsFirst)
	}
	for i := range want {
		if got.Pixels[i] != want[i] {
			t.Fatalf("NCHW pixel %d = %g, want %g (all: %v)", i, got.Pixels[i], want[i], got.Pixels)
		}
	}

	// float64 from a file on disk, with the name in errors.
	path := filepath.Join(t.TempDir(), "samples.npy")
	f64 := make([]byte, 16)
	binary.LittleEndian.PutUint64(f64, math.Float64bits(0.5))
	binary.LittleEndian.PutUint64(f64[8:], math.Float64bits(2))
	if err := os.WriteFile(path, npyFile("<f8", []int{1, 1, 2}, f64), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadNPYImages(path, RangeMinusOneOne)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "value 2 at flat index 1") {
		t.Fatalf("a pixel of 2 in a [-1, 1] file: error %v, want one naming the file and the value", err)
	}
}

func TestNPYImagesRejectsBadFiles(t *testing.T) {
	good := float32Bytes(0, 0, 0, 0)
	for _, c := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"not npy", []byte("P5 28 28 255\n"), "not a .npy file"},
		{"dtype", npyFile("<i8", []int{1, 2, 2}, make([]byte, 32)), `dtype "<i8"`},
		{"big endian", npyFile(">f4", []int{1, 2, 2}, good), `dtype ">f4"`},
		{"shape", npyFile("<f4", []int{4}, good), "shape [4]"},
		{"channels", npyFile("<f4", []int{1, 2, 1, 2}, good), "shape [1 2 1 2]"},
		{"empty", npyFile("<f4", []int{0, 28, 28}, nil), "holds no images"},
		{"short", npyFile("<f4", []int{1, 2, 2}, good[:12]), "needs 16 data bytes, the file holds 12"},
		{"nan", npyFile("<f4", []int{1, 2, 2}, float32Bytes(0, float32(math.NaN()), 0, 0)), "value NaN at flat index 1"},
		{"range", npyFile("<f4", []int{1, 2, 2}, float32Bytes(0, 0, -0.5, 0)), "outside [0, 1]"},
		{"truncated header", npyFile("<f4", []int{1, 2, 2}, good)[:40], "runs past the file"},
	} {
		r := RangeMinusOneOne
		if c.name == "range" {
			r = RangeZeroOne
		}
		_, err := parseNPYImages(c.raw, r)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	fortran := []byte(strings.Replace(string(npyFile("<f4", []int{1, 2, 2}, good)), "False", "True ", 1))
	if _, err := parseNPYImages(fortran, RangeMinusOneOne); err == nil || !strings.Contains(err.Error(), "Fortran order") {
		t.Errorf("Fortran-ordered file: error %v, want one about Fortran order", err)
	}
}

func TestWriteNPYImagesReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.npy")
	pixels := []float32{-1, 0, 0.5, 1, 0.25, -0.75}
	if err := WriteNPYImages(path, pixels, 3, 1, 2, 1); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// numpy.save's layout: the data start at a multiple of 64 bytes, after a newline.
	if start := len(raw) - 4*len(pixels); start%64 != 0 || raw[start-1] != '\n' {
		t.Fatalf("the data start at byte %d (after %q), want a multiple of 64 after a newline", start, raw[start-1])
	}
	got, err := ReadNPYImages(path, RangeMinusOneOne)
	if err != nil {
		t.Fatal(err)
	}
	if got.N != 3 || got.Height != 1 || got.Width != 2 || got.Channels != 1 {
		t.Fatalf("read back %d×%d×%d×%d, want 3×1×2×1", got.N, got.Height, got.Width, got.Channels)
	}
	for i, p := range pixels {
		if got.Pixels[i] != p {
			t.Fatalf("pixel %d read back as %g, want %g", i, got.Pixels[i], p)
		}
	}
	if err := WriteNPYImages(path, pixels, 2, 1, 2, 1); err == nil || !strings.Contains(err.Error(), "6 values for 2 images") {
		t.Fatalf("mismatched size: error %v", err)
	}
}
