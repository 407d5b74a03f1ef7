package torchfix

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// writeFixture encodes tensors in the documented format, independently of the Python writer.
func writeFixture(t *testing.T, path string, meta map[string]any, names []string, values map[string]Tensor) {
	t.Helper()
	entries := map[string]any{}
	var data []byte
	offset := 0
	for _, name := range names {
		v := values[name]
		entries[name] = map[string]any{"shape": v.Shape, "offset": offset}
		for _, x := range v.Data {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(x))
		}
		offset += len(v.Data)
	}
	header, err := json.Marshal(map[string]any{"meta": meta, "tensors": entries})
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(Magic), binary.LittleEndian.AppendUint32(nil, uint32(len(header)))...)
	out = append(append(out, header...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "case.tfx")
	values := map[string]Tensor{
		"a": {Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		"b": {Shape: []int{}, Data: []float32{-0.5}},
	}
	writeFixture(t, path, map[string]any{"stride": 2, "padding": []int{1, 2}}, []string{"a", "b"}, values)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range values {
		got := f.Get(name)
		if !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.Data, want.Data) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
	if f.Int("stride") != 2 || !slices.Equal(f.Ints("padding"), []int{1, 2}) {
		t.Errorf("meta: got %v", f.Meta)
	}
	if err := os.WriteFile(path, []byte("not a fixture"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Error("Load accepted a file without the magic")
	}
}

// TestLoadCommittedFixture reads one fixture written by scripts/fixtures/make_fixtures.py.
func TestLoadCommittedFixture(t *testing.T) {
	f, err := Load(filepath.Join("..", "..", "nn", "testdata", "linear.tfx"))
	if err != nil {
		t.Fatal(err)
	}
	if w := f.Get("weight"); !slices.Equal(w.Shape, []int{f.Int("out"), f.Int("in")}) {
		t.Errorf("Linear weight shape %v, meta %v", w.Shape, f.Meta)
	}
}

func TestLayouts(t *testing.T) {
	// PyTorch Conv2d weight [out=2, in=3, kh=1, kw=2] with value 1000·o + 100·i + 10·a + b.
	w := Tensor{Shape: []int{2, 3, 1, 2}}
	for o := range 2 {
		for i := range 3 {
			for b := range 2 {
				w.Data = append(w.Data, float32(1000*o+100*i+b))
			}
		}
	}
	hwio := ConvWeight(w)
	if !slices.Equal(hwio.Shape, []int{1, 2, 3, 2}) {
		t.Fatalf("ConvWeight shape %v", hwio.Shape)
	}
	// [a=0, b=1, i=2, o=1] is at ((0·2+1)·3+2)·2+1 = 11.
	if got := hwio.Data[11]; got != 1000+200+1 {
		t.Errorf("ConvWeight[0,1,2,1] = %v, want 1201", got)
	}
	// The same numbers read as a ConvTranspose2d weight [in=2, out=3, kh, kw]: [a, b, in, out].
	if got := ConvTransposeWeight(w).Data[(1*2+1)*3+2]; got != 1000+200+1 { // [0, 1, in=1, out=2]
		t.Errorf("ConvTransposeWeight[0,1,1,2] = %v, want 1201", got)
	}
	// NCHW [1, 2, 1, 2] -> NHWC [1, 1, 2, 2].
	x := NCHWToNHWC(Tensor{Shape: []int{1, 2, 1, 2}, Data: []float32{1, 2, 3, 4}})
	if !slices.Equal(x.Data, []float32{1, 3, 2, 4}) || !slices.Equal(x.Shape, []int{1, 1, 2, 2}) {
		t.Errorf("NCHWToNHWC: %+v", x)
	}
}

func TestMaxRelError(t *testing.T) {
	if got := MaxRelError([]float32{1, 2.5, -4}, []float32{1, 2, -4}); math.Abs(got-0.125) > 1e-9 {
		t.Errorf("MaxRelError = %v, want 0.125", got)
	}
	if got := MaxRelError([]float32{0}, []float32{0}); got != 0 {
		t.Errorf("MaxRelError of zeros = %v", got)
	}
}
