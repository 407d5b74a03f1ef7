package data

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// This file holds the parsers of the four on-disk formats. They work on bytes already in memory
// (or on a reader for the archives), never panic on bad input, and say in their errors what they
// expected. The callers add the file name.

// maxPayload bounds how many bytes a compressed file may expand to (the largest real payload,
// the CIFAR-10 tar, is about 185 MB), so that a corrupt or hostile file cannot exhaust memory.
const maxPayload = 512 << 20

// readAllLimited reads r to its end, failing when it holds more than limit bytes.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	payload, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(payload)) > limit {
		return nil, fmt.Errorf("decompressed payload exceeds %d bytes", limit)
	}
	return payload, nil
}

// gunzip decompresses a whole gzip stream held in memory.
func gunzip(compressed []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("not a gzip stream: %w", err)
	}
	defer zr.Close()
	payload, err := readAllLimited(zr, maxPayload)
	if err != nil {
		return nil, fmt.Errorf("corrupt or truncated gzip stream: %w", err)
	}
	return payload, nil
}

// idxUnsignedByte is the IDX type code of unsigned bytes, the only element type MNIST-style
// files use.
const idxUnsignedByte = 0x08

// parseIDX parses an uncompressed IDX file (the format of MNIST and Fashion-MNIST): the magic
// 0x00 0x00 TYPE NDIMS, NDIMS big-endian uint32 sizes, then the elements in row-major order. Only
// unsigned-byte elements are accepted. It returns the sizes and the elements, which alias data.
func parseIDX(data []byte) (dims []int, elements []byte, err error) {
	if len(data) < 4 {
		return nil, nil, fmt.Errorf("IDX header truncated: %d bytes, expected at least 4", len(data))
	}
	if data[0] != 0 || data[1] != 0 {
		return nil, nil, fmt.Errorf("wrong IDX magic % x, expected 00 00 08 NDIMS", data[:4])
	}
	if data[2] != idxUnsignedByte {
		return nil, nil, fmt.Errorf("IDX element type 0x%02x, expected 0x08 (unsigned byte)", data[2])
	}
	numDims := int(data[3])
	if numDims == 0 {
		return nil, nil, errors.New("IDX file declares 0 dimensions, expected at least 1")
	}
	headerLen := 4 + 4*numDims
	if len(data) < headerLen {
		return nil, nil, fmt.Errorf("IDX header truncated: %d bytes, expected %d for %d dimensions",
			len(data), headerLen, numDims)
	}
	dims = make([]int, numDims)
	count := uint64(1)
	for i := range dims {
		size := binary.BigEndian.Uint32(data[4+4*i:])
		dims[i] = int(size)
		if size == 0 {
			return nil, nil, fmt.Errorf("IDX sizes %v: dimension %d is 0, so the file holds no elements; expected a non-empty data set",
				dimsOf(data, numDims), i)
		}
		count *= uint64(size)
		if count > maxPayload {
			return nil, nil, fmt.Errorf("IDX sizes %v exceed %d elements", dims[:i+1], maxPayload)
		}
	}
	if have := uint64(len(data) - headerLen); have != count {
		return nil, nil, fmt.Errorf("IDX payload is %d bytes, expected %d for sizes %v (truncated or corrupt)",
			have, count, dims)
	}
	return dims, data[headerLen:], nil
}

// dimsOf reads the numDims sizes of an IDX header whose length was checked.
func dimsOf(data []byte, numDims int) []int {
	dims := make([]int, numDims)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(data[4+4*i:]))
	}
	return dims
}

// idxImages checks that an IDX payload holds N images of H x W and returns N, H, W and the pixels.
func idxImages(data []byte) (n, height, width int, pixels []byte, err error) {
	dims, elements, err := parseIDX(data)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	if len(dims) != 3 {
		return 0, 0, 0, nil, fmt.Errorf("IDX image file has %d dimensions %v, expected 3 (N, H, W)", len(dims), dims)
	}
	return dims[0], dims[1], dims[2], elements, nil
}

// idxLabels checks that an IDX payload holds a vector of labels below numClasses.
func idxLabels(data []byte, numClasses int) ([]byte, error) {
	dims, elements, err := parseIDX(data)
	if err != nil {
		return nil, err
	}
	if len(dims) != 1 {
		return nil, fmt.Errorf("IDX label file has %d dimensions %v, expected 1 (N)", len(dims), dims)
	}
	for i, label := range elements {
		if int(label) >= numClasses {
			return nil, fmt.Errorf("label %d at index %d, expected 0..%d", label, i, numClasses-1)
		}
	}
	return elements, nil
}

// encodeIDX writes an unsigned-byte IDX file with the given sizes and elements.
func encodeIDX(dims []int, elements []byte) []byte {
	out := make([]byte, 4+4*len(dims), 4+4*len(dims)+len(elements))
	out[2] = idxUnsignedByte
	out[3] = byte(len(dims))
	for i, size := range dims {
		binary.BigEndian.PutUint32(out[4+4*i:], uint32(size))
	}
	return append(out, elements...)
}

// CIFAR-10 binary records: one label byte, then a 32x32 red plane, green plane and blue plane.
const (
	cifarSide       = 32
	cifarPlane      = cifarSide * cifarSide
	cifarRecordSize = 1 + 3*cifarPlane
)

// parseCIFAR parses concatenated CIFAR-10 binary records into NHWC pixels and labels.
func parseCIFAR(data []byte) (images, labels []byte, err error) {
	if len(data) == 0 || len(data)%cifarRecordSize != 0 {
		return nil, nil, fmt.Errorf("CIFAR-10 batch is %d bytes, expected a positive multiple of %d (label + 3x32x32)",
			len(data), cifarRecordSize)
	}
	n := len(data) / cifarRecordSize
	images = make([]byte, n*3*cifarPlane)
	labels = make([]byte, n)
	for i := range n {
		record := data[i*cifarRecordSize : (i+1)*cifarRecordSize]
		if record[0] >= 10 {
			return nil, nil, fmt.Errorf("CIFAR-10 record %d has label %d, expected 0..9", i, record[0])
		}
		labels[i] = record[0]
		planes := record[1:]
		image := images[i*3*cifarPlane : (i+1)*3*cifarPlane]
		// The record is channel-major (CHW); the Set is channel-last (HWC).
		for p := range cifarPlane {
			image[3*p] = planes[p]
			image[3*p+1] = planes[cifarPlane+p]
			image[3*p+2] = planes[2*cifarPlane+p]
		}
	}
	return images, labels, nil
}

// cifarMembers reads the members of the CIFAR-10 binary tar.gz whose base names are wanted (for
// example "data_batch_1.bin") and returns their contents by base name. Other members are skipped.
func cifarMembers(r io.Reader, wanted map[string]bool) (map[string][]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip stream: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	found := map[string][]byte{}
	var total int64
	for {
		header, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("corrupt or truncated tar.gz: %w", err)
		}
		base := header.Name[strings.LastIndex(header.Name, "/")+1:]
		if !wanted[base] || header.Typeflag != tar.TypeReg {
			continue
		}
		total += header.Size
		if header.Size < 0 || total > maxPayload {
			return nil, fmt.Errorf("tar member %s declares %d bytes, more than expected", header.Name, header.Size)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("corrupt or truncated tar member %s: %w", header.Name, err)
		}
		found[base] = content
	}
	var missing []string
	for name := range wanted {
		if _, ok := found[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("tar.gz lacks %s, expected cifar-10-batches-bin/ with data_batch_1..5.bin and test_batch.bin",
			strings.Join(missing, ", "))
	}
	return found, nil
}

// USPS images are 16x16 gray; the svmlight file has 256 features per line with values in [-1, 1].
const (
	uspsSide     = 16
	uspsFeatures = uspsSide * uspsSide
)

// bzip2Magic starts every bzip2 stream.
var bzip2Magic = []byte("BZh")

// parseUSPS parses the USPS svmlight file as LIBSVM distributes it: bzip2-compressed, or already
// decompressed text. Each line is "LABEL INDEX:VALUE ..." with LABEL in 1..10 and INDEX in
// 1..256; a missing index means the value 0 (svmlight's sparse convention). Values in [-1, 1]
// become pixels (v+1)/2*255 truncated to an integer, as torchvision's USPS does; labels become
// 0..9.
func parseUSPS(data []byte) (images, labels []byte, err error) {
	var r io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(data, bzip2Magic) {
		text, err := readAllLimited(bzip2.NewReader(r), maxPayload)
		if err != nil {
			return nil, nil, fmt.Errorf("corrupt or truncated bzip2 stream: %w", err)
		}
		r = bytes.NewReader(text)
	}
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lineNumber := 0
	values := make([]float64, uspsFeatures)
	for scanner.Scan() {
		lineNumber++
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 {
			continue
		}
		label, err := strconv.Atoi(fields[0])
		if err != nil || label < 1 || label > 10 {
			return nil, nil, fmt.Errorf("line %d: label %q, expected an integer 1..10", lineNumber, fields[0])
		}
		clear(values)
		for _, field := range fields[1:] {
			indexText, valueText, ok := strings.Cut(field, ":")
			index, indexErr := strconv.Atoi(indexText)
			value, valueErr := strconv.ParseFloat(valueText, 64)
			if !ok || indexErr != nil || valueErr != nil {
				return nil, nil, fmt.Errorf("line %d: feature %q, expected INDEX:VALUE", lineNumber, field)
			}
			if index < 1 || index > uspsFeatures {
				return nil, nil, fmt.Errorf("line %d: feature index %d, expected 1..%d", lineNumber, index, uspsFeatures)
			}
			if !(value >= -1.001 && value <= 1.001) { // also rejects NaN
				return nil, nil, fmt.Errorf("line %d: value %s, expected a number in [-1, 1]", lineNumber, valueText)
			}
			values[index-1] = value
		}
		labels = append(labels, byte(label-1))
		for _, value := range values {
			pixel := math.Floor((value + 1) / 2 * 255)
			images = append(images, byte(max(0, min(255, pixel))))
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, nil, fmt.Errorf("line %d: %w", lineNumber+1, err)
	}
	if len(labels) == 0 {
		return nil, nil, errors.New("no USPS records, expected lines \"LABEL 1:V 2:V ... 256:V\"")
	}
	return images, labels, nil
}
