package checkpoint

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"
)

// craft frames a header and payload as Save does, with a valid checksum: a file that only the
// loader's own checks can reject.
func craft(t testing.TB, hdr header, payload []byte) []byte {
	t.Helper()
	headerJSON, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	var prefix [12]byte
	binary.LittleEndian.PutUint32(prefix[0:4], formatVersion)
	binary.LittleEndian.PutUint64(prefix[4:12], uint64(len(headerJSON)))
	body := append(append(append([]byte(magic), prefix[:]...), headerJSON...), payload...)
	sum := sha256.Sum256(body)
	return append(body, sum[:]...)
}

// TestLoadRejectsCraftedHeaders: a checkpoint with a valid checksum whose header lies about its
// variables (negative or overflowing dimensions, offsets outside the data, a length that does not
// match the shape) is refused with an error naming the file and the variable, before anything is
// allocated, and leaves the store untouched.
func TestLoadRejectsCraftedHeaders(t *testing.T) {
	payload := make([]byte, 64) // room for 16 float32
	entry := func(mutate func(*variableEntry)) header {
		e := variableEntry{Path: "/w", DType: "Float32", Dimensions: []int{4, 4}, Trainable: true, Offset: 0, Length: 64}
		mutate(&e)
		return header{Variables: []variableEntry{{Path: "/ok", DType: "Float32", Dimensions: []int{2}, Length: 8}, e}}
	}
	cases := []struct {
		name   string
		hdr    header
		reason string
	}{
		{"negative dimension", entry(func(e *variableEntry) { e.Dimensions = []int{-4, -4} }), "negative dimension"},
		{"one negative dimension", entry(func(e *variableEntry) { e.Dimensions, e.Length = []int{4, -1}, -16 }), "negative dimension"},
		{"overflowing product", entry(func(e *variableEntry) { e.Dimensions = []int{1 << 31, 1 << 31, 1 << 31, 8} }), "need more bytes"},
		{"product wraps to the length", entry(func(e *variableEntry) { e.Dimensions = []int{1 << 62, 4, 4} }), "need more bytes"},
		{"negative offset", entry(func(e *variableEntry) { e.Offset = -8 }), "outside"},
		{"offset past the data", entry(func(e *variableEntry) { e.Offset = 8 }), "outside"},
		{"huge offset", entry(func(e *variableEntry) { e.Offset = 1<<63 - 1 }), "outside"},
		{"length and shape disagree", entry(func(e *variableEntry) { e.Length = 60 }), "needs 64"},
		{"negative length", entry(func(e *variableEntry) { e.Dimensions, e.Length = []int{0}, -8 }), "needs 0"},
		{"unknown dtype", entry(func(e *variableEntry) { e.DType = "Float99" }), "unknown dtype"},
		{"invalid dtype", entry(func(e *variableEntry) { e.DType = "InvalidDType" }), "unknown dtype"},
		{"rank 17", entry(func(e *variableEntry) { e.Dimensions, e.Length = make([]int, 17), 0 }), "at most 16"},
		{"empty path", entry(func(e *variableEntry) { e.Path = "" }), "scope path"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".ckpt")
		if err := os.WriteFile(path, craft(t, c.hdr, payload), 0o644); err != nil {
			t.Fatal(err)
		}
		store := model.NewStore()
		err := Load(path, store, nil)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: Load gave %v, want an error naming the file and %q", c.name, err, c.reason)
		}
		if c.reason != "scope path" && (err == nil || !strings.Contains(err.Error(), `"/w"`)) {
			t.Errorf("%s: error %v does not name the variable", c.name, err)
		}
		if store.GetVariable("/ok") != nil {
			t.Errorf("%s: the valid variable before the bad one was loaded: a refused file changed the store", c.name)
		}
	}
	// The same frame with an honest entry loads.
	good := filepath.Join(dir, "good.ckpt")
	if err := os.WriteFile(good, craft(t, entry(func(*variableEntry) {}), payload), 0o644); err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	if err := Load(good, store, nil); err != nil || store.GetVariable("/w") == nil || store.GetVariable("/ok") == nil {
		t.Errorf("an honest crafted file: %v", err)
	}
}

// FuzzLoad feeds arbitrary bytes, and arbitrary headers framed with a valid checksum, to Load: it
// must return an error or a store whose every variable has the shape and bytes its entry claims,
// and never panic or allocate beyond the file.
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.ckpt")
	if err := Save(path, storeWith(f, 5, 1), runMeta{Step: 3}); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	f.Add(good, false)
	f.Add([]byte(`{"variables":[{"path":"/w","dtype":"Float32","dimensions":[-1,-4],"offset":0,"length":16}]}`), true)
	f.Add([]byte(`{"variables":[{"path":"/w","dtype":"Int64","dimensions":[2],"offset":-16,"length":16}]}`), true)
	f.Add([]byte(`{"variables":[{"path":"/w","dtype":"Float32","dimensions":[4611686018427387904,4],"offset":0,"length":0}]}`), true)
	f.Fuzz(func(t *testing.T, content []byte, frame bool) {
		if frame { // content is a header: give it 32 bytes of data and a valid checksum
			var hdr header
			if json.Unmarshal(content, &hdr) != nil {
				return
			}
			content = craft(t, hdr, make([]byte, 32))
		}
		file := filepath.Join(t.TempDir(), "fuzz.ckpt")
		if err := os.WriteFile(file, content, 0o644); err != nil {
			t.Fatal(err)
		}
		store := model.NewStore()
		var meta runMeta
		if err := Load(file, store, &meta); err != nil {
			return
		}
		for v := range store.IterVariables() {
			if !v.HasValue() || v.Shape().Memory() > uintptr(len(content)) {
				t.Errorf("variable %s: shape %s from a %d-byte file", v.Path(), v.Shape(), len(content))
			}
		}
	})
}
