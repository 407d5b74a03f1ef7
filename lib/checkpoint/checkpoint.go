// Package checkpoint saves and restores a training run: every variable of a GoMLX model store
// (weights, optimizer moments, batch-norm statistics, the graph random-number state) plus a JSON
// document of run metadata (step counters, host RNG state, configuration, history).
//
// A checkpoint is one file written atomically: the bytes go to a temporary file in the same
// directory, are flushed to disk, and only then renamed over the previous checkpoint. A crash or a
// kill at any moment leaves either the old checkpoint or the new one, never a torn file; a file that
// was damaged afterwards is detected by its SHA-256 trailer and rejected with an error naming it.
//
// File layout (little endian):
//
//	"ADVLABCK" | uint32 format version | uint64 header length | JSON header | raw tensor bytes | SHA-256 of all previous bytes
//
// The header lists each variable's full path, dtype, dimensions, trainable flag, offset and length,
// and carries the caller's metadata.
package checkpoint

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

const (
	magic         = "ADVLABCK"
	formatVersion = 1
)

// variableEntry describes one saved variable in the header.
type variableEntry struct {
	Path       string `json:"path"`
	DType      string `json:"dtype"`
	Dimensions []int  `json:"dimensions"`
	Trainable  bool   `json:"trainable"`
	Offset     int64  `json:"offset"`
	Length     int64  `json:"length"`
}

type header struct {
	Variables []variableEntry `json:"variables"`
	Meta      json.RawMessage `json:"meta,omitempty"`
}

// Save writes every variable of store and the JSON encoding of meta to path, atomically.
// Variables without a value yet (not initialised) are skipped.
func Save(path string, store *model.Store, meta any) (err error) {
	var vars []*model.Variable
	for v := range store.IterVariables() {
		if v.HasValue() {
			vars = append(vars, v)
		}
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].Path() < vars[j].Path() })
	// A diverged model is not saved: the checkpoint on disk, the last finite state, stays.
	for _, v := range vars {
		if err := checkFinite(v); err != nil {
			return fmt.Errorf("checkpoint %s not written: %w; the file on disk (if any) is unchanged", path, err)
		}
	}
	metaJSON, err := json.Marshal(meta)
	var unsupported *json.UnsupportedValueError
	if errors.As(err, &unsupported) { // NaN or ±Inf among the metadata's numbers (a diverged step's metrics)
		return fmt.Errorf("checkpoint %s not written: its metadata holds %s (%w); the file on disk (if any) is unchanged",
			path, unsupported.Str, ErrNotFinite)
	}
	if err != nil {
		return fmt.Errorf("checkpoint %s: encoding metadata: %w", path, err)
	}
	hdr := header{Meta: metaJSON}
	var offset int64
	for _, v := range vars {
		shape := v.Shape()
		length := int64(shape.Memory())
		hdr.Variables = append(hdr.Variables, variableEntry{
			Path: v.Path(), DType: shape.DType.String(), Dimensions: shape.Dimensions,
			Trainable: v.Trainable, Offset: offset, Length: length,
		})
		offset += length
	}
	headerJSON, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("checkpoint %s: encoding header: %w", path, err)
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint %s: creating temporary file: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	hash := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(tmp, hash), 1<<20)
	var prefix [12]byte
	binary.LittleEndian.PutUint32(prefix[0:4], formatVersion)
	binary.LittleEndian.PutUint64(prefix[4:12], uint64(len(headerJSON)))
	for _, chunk := range [][]byte{[]byte(magic), prefix[:], headerJSON} {
		if _, err = w.Write(chunk); err != nil {
			return fmt.Errorf("checkpoint %s: writing: %w", path, err)
		}
	}
	for _, v := range vars {
		value, verr := v.Value()
		if verr != nil {
			return fmt.Errorf("checkpoint %s: reading variable %s: %w", path, v.Path(), verr)
		}
		var werr error
		if cerr := value.ConstBytes(func(data []byte) { _, werr = w.Write(data) }); cerr != nil {
			return fmt.Errorf("checkpoint %s: reading variable %s: %w", path, v.Path(), cerr)
		}
		if werr != nil {
			return fmt.Errorf("checkpoint %s: writing variable %s: %w", path, v.Path(), werr)
		}
	}
	if err = w.Flush(); err != nil {
		return fmt.Errorf("checkpoint %s: writing: %w", path, err)
	}
	if _, err = tmp.Write(hash.Sum(nil)); err != nil {
		return fmt.Errorf("checkpoint %s: writing checksum: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("checkpoint %s: flushing to disk: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint %s: closing: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("checkpoint %s: renaming into place: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // Make the rename itself durable; not all filesystems support it.
		_ = d.Close()
	}
	return nil
}

// Load restores the variables saved in path into store (creating those the store lacks, replacing
// the values of those it has) and decodes the metadata into meta (when meta is not nil).
// A truncated, corrupt or foreign file is an error naming the file and what was expected.
func Load(path string, store *model.Store, meta any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	hdr, payload, err := parse(path, raw)
	if err != nil {
		return err
	}
	// Every entry is checked before the store is touched: a bad file changes nothing.
	loaded := make([]shapes.Shape, len(hdr.Variables))
	for i, entry := range hdr.Variables {
		shape, err := entryShape(entry, int64(len(payload)))
		if err != nil {
			return fmt.Errorf("checkpoint %s: variable %q: %w", path, entry.Path, err)
		}
		if !strings.HasPrefix(entry.Path, "/") {
			return fmt.Errorf("checkpoint %s: variable path %q, want a scope path starting with \"/\"", path, entry.Path)
		}
		if v := store.GetVariable(entry.Path); v != nil && v.HasValue() && !v.Shape().Equal(shape) {
			return fmt.Errorf("checkpoint %s: variable %s has shape %s in the file but %s in the model: the checkpoint belongs to another configuration",
				path, entry.Path, shape, v.Shape())
		}
		loaded[i] = shape
	}
	for i, entry := range hdr.Variables {
		value := tensors.FromShape(loaded[i])
		value.MutableBytes(func(data []byte) { copy(data, payload[entry.Offset:entry.Offset+entry.Length]) })
		if err := restore(store, entry, value); err != nil {
			return fmt.Errorf("checkpoint %s: restoring %s: %w", path, entry.Path, err)
		}
	}
	if meta != nil && len(hdr.Meta) > 0 {
		if err := json.Unmarshal(hdr.Meta, meta); err != nil {
			return fmt.Errorf("checkpoint %s: decoding metadata: %w", path, err)
		}
	}
	return nil
}

// ErrNotFinite is wrapped by Save's error when a variable holds NaN or an infinity.
var ErrNotFinite = errors.New("non-finite value")

// checkFinite returns an ErrNotFinite error naming v when one of its float values is NaN or ±Inf.
func checkFinite(v *model.Variable) error {
	value, err := v.Value()
	if err != nil {
		return fmt.Errorf("reading variable %s: %w", v.Path(), err)
	}
	index, bad := -1, 0.0
	switch value.DType() {
	case dtypes.Float32:
		err = tensors.ConstFlatData(value, func(flat []float32) {
			for i, x := range flat {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					index, bad = i, float64(x)
					return
				}
			}
		})
	case dtypes.Float64:
		err = tensors.ConstFlatData(value, func(flat []float64) {
			for i, x := range flat {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					index, bad = i, x
					return
				}
			}
		})
	}
	if err != nil {
		return fmt.Errorf("reading variable %s: %w", v.Path(), err)
	}
	if index >= 0 {
		return fmt.Errorf("variable %s holds %v at index %d (training diverged): %w", v.Path(), bad, index, ErrNotFinite)
	}
	return nil
}

// restore sets (or creates) the variable of entry to value; a panic of the store (a path it
// refuses) becomes the error.
func restore(store *model.Store, entry variableEntry, value *tensors.Tensor) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	v := store.GetVariable(entry.Path)
	if v == nil {
		if v, err = store.CreateVariable(entry.Path, value); err != nil {
			return err
		}
	} else if err = v.SetValue(value); err != nil {
		return err
	}
	v.SetTrainable(entry.Trainable)
	return nil
}

// maxRank bounds the rank of a saved variable; advlab's largest is 4.
const maxRank = 16

// entryShape checks a header entry against the payload of payloadLen bytes, before anything is
// allocated: a known dtype, at most maxRank dimensions, none negative, a byte length equal to what
// the shape needs (computed without overflow) and a range [Offset, Offset+Length) inside the payload.
// A file that passed its checksum can still have been written by another program: nothing in the
// header is trusted.
func entryShape(entry variableEntry, payloadLen int64) (shapes.Shape, error) {
	dtype, err := dtypes.DTypeString(entry.DType)
	if err != nil || dtype == dtypes.InvalidDType || dtype.Size() <= 0 {
		return shapes.Shape{}, fmt.Errorf("unknown dtype %q", entry.DType)
	}
	if len(entry.Dimensions) > maxRank {
		return shapes.Shape{}, fmt.Errorf("%d dimensions, want at most %d", len(entry.Dimensions), maxRank)
	}
	elements := int64(1)
	for _, d := range entry.Dimensions {
		if d < 0 {
			return shapes.Shape{}, fmt.Errorf("dimensions %v: negative dimension %d", entry.Dimensions, d)
		}
		// Every element takes at least one byte, so a shape with more elements than the payload has
		// bytes cannot be in the file; checking that at each factor keeps the product from overflowing.
		if d > 0 && elements > payloadLen/int64(d) {
			return shapes.Shape{}, fmt.Errorf("dimensions %v need more bytes than the file's %d bytes of data", entry.Dimensions, payloadLen)
		}
		elements *= int64(d)
	}
	need := elements * int64(dtype.Size())
	if entry.Length != need {
		return shapes.Shape{}, fmt.Errorf("header says %d bytes, a %s tensor of dimensions %v needs %d", entry.Length, dtype, entry.Dimensions, need)
	}
	if entry.Offset < 0 || entry.Offset > payloadLen-entry.Length {
		return shapes.Shape{}, fmt.Errorf("%d bytes at offset %d lie outside the file's %d bytes of data", entry.Length, entry.Offset, payloadLen)
	}
	return shapes.Make(dtype, entry.Dimensions...), nil
}

// ReadMeta decodes only the metadata of a checkpoint (after verifying the whole file).
func ReadMeta(path string, meta any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	hdr, _, err := parse(path, raw)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(hdr.Meta, meta); err != nil {
		return fmt.Errorf("checkpoint %s: decoding metadata: %w", path, err)
	}
	return nil
}

// parse verifies the framing and checksum of a checkpoint file and returns its header and payload.
func parse(path string, raw []byte) (*header, []byte, error) {
	const prefixLen = len(magic) + 12
	if len(raw) < prefixLen+sha256.Size {
		return nil, nil, fmt.Errorf("checkpoint %s: file is %d bytes, too short for an advlab checkpoint (truncated?)", path, len(raw))
	}
	if !bytes.Equal(raw[:len(magic)], []byte(magic)) {
		return nil, nil, fmt.Errorf("checkpoint %s: not an advlab checkpoint (magic %q, expected %q)", path, raw[:len(magic)], magic)
	}
	body, trailer := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], trailer) {
		return nil, nil, fmt.Errorf("checkpoint %s: SHA-256 mismatch (file truncated or corrupt): stored %x, computed %x", path, trailer, sum)
	}
	version := binary.LittleEndian.Uint32(raw[len(magic):])
	if version != formatVersion {
		return nil, nil, fmt.Errorf("checkpoint %s: format version %d, this advlab reads version %d", path, version, formatVersion)
	}
	headerLen := binary.LittleEndian.Uint64(raw[len(magic)+4:])
	if headerLen > uint64(len(body)-prefixLen) {
		return nil, nil, fmt.Errorf("checkpoint %s: header length %d exceeds the file", path, headerLen)
	}
	var hdr header
	if err := json.Unmarshal(body[prefixLen:prefixLen+int(headerLen)], &hdr); err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: bad header: %w", path, err)
	}
	return &hdr, body[prefixLen+int(headerLen):], nil
}
