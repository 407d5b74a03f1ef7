package data

import (
	"bytes"
	"os"
	"testing"
)

// The fuzz targets feed the parsers arbitrary bytes: they must return an error or a result whose
// sizes agree, and never panic. Run one with, for example:
//
//	go test -run='^$' -fuzz=FuzzParseIDX -fuzztime=60s ./lib/data/

func FuzzParseIDX(f *testing.F) {
	f.Add(tinyIDXImages(2, 3, 3))
	f.Add(encodeIDX([]int{4}, []byte{0, 1, 9, 3}))
	f.Add(gzipBytes(f, tinyIDXImages(1, 2, 2)))
	f.Add([]byte{0, 0, 8, 0})
	f.Fuzz(func(t *testing.T, file []byte) {
		for _, payload := range [][]byte{file, gunzipOrNil(file)} {
			if payload == nil {
				continue
			}
			dims, elements, err := parseIDX(payload)
			if err != nil {
				continue
			}
			count := 1
			for _, d := range dims {
				count *= d
			}
			if count != len(elements) {
				t.Fatalf("sizes %v but %d elements", dims, len(elements))
			}
			if n, h, w, pixels, err := idxImages(payload); err == nil && n*h*w != len(pixels) {
				t.Fatalf("%d images of %dx%d but %d pixels", n, h, w, len(pixels))
			}
			if labels, err := idxLabels(payload, 10); err == nil {
				for _, label := range labels {
					if label > 9 {
						t.Fatalf("label %d accepted", label)
					}
				}
			}
		}
	})
}

// gunzipOrNil decompresses file, or returns nil when it is not a valid gzip stream.
func gunzipOrNil(file []byte) []byte {
	payload, err := gunzip(file)
	if err != nil {
		return nil
	}
	return payload
}

func FuzzParseCIFAR(f *testing.F) {
	// The inputs stay small (the fuzzer stalls on multi-kilobyte inputs): a batch is built from
	// a label, a pixel pattern repeated over the record, and how many records to make, plus
	// stray trailing bytes.
	f.Add(byte(3), []byte{1, 2, 3}, uint8(1), []byte{})
	f.Add(byte(9), []byte{255}, uint8(2), []byte{})
	f.Add(byte(12), []byte{0}, uint8(1), []byte{})
	f.Add(byte(0), []byte{}, uint8(0), []byte{7, 7})
	f.Fuzz(func(t *testing.T, label byte, pattern []byte, records uint8, trailing []byte) {
		var batch []byte
		for r := range int(records % 4) {
			record := make([]byte, cifarRecordSize)
			record[0] = label + byte(r)
			for p := 1; p < len(record) && len(pattern) > 0; p++ {
				record[p] = pattern[p%len(pattern)]
			}
			batch = append(batch, record...)
		}
		batch = append(batch, trailing...)
		images, labels, err := parseCIFAR(batch)
		if err != nil {
			return
		}
		if len(images) != len(labels)*3072 || len(labels)*cifarRecordSize != len(batch) {
			t.Fatalf("%d bytes gave %d images and %d labels", len(batch), len(images)/3072, len(labels))
		}
		for i, l := range labels {
			if l > 9 || l != batch[i*cifarRecordSize] {
				t.Fatalf("record %d: label %d from byte %d", i, l, batch[i*cifarRecordSize])
			}
			// Pixel 1's green value is byte 1+1024+1 of the record.
			if images[i*3072+3+1] != batch[i*cifarRecordSize+1+cifarPlane+1] {
				t.Fatalf("record %d: green of pixel 1 misplaced", i)
			}
		}
	})
}

func FuzzParseCIFARArchive(f *testing.F) {
	f.Add(tinyCIFARArchive(f))
	f.Add(gzipBytes(f, []byte("not a tar")))
	f.Fuzz(func(t *testing.T, archive []byte) {
		wanted := map[string]bool{"test_batch.bin": true}
		members, err := cifarMembers(bytes.NewReader(archive), wanted)
		if err != nil {
			return
		}
		if _, ok := members["test_batch.bin"]; !ok {
			t.Fatal("no error, but no test_batch.bin")
		}
		if images, labels, err := parseCIFAR(members["test_batch.bin"]); err == nil && len(images) != 3072*len(labels) {
			t.Fatalf("%d pixels for %d labels", len(images), len(labels))
		}
	})
}

func FuzzParseUSPS(f *testing.F) {
	// Two bzip2 seeds: the 4-line fixture, and one line compressed with bzip2 -1 (100 kB blocks,
	// so each execution allocates less than the 900 kB blocks of the default -9).
	for _, fixture := range []string{"testdata/usps-tiny.bz2", "testdata/usps-one-line-b1.bz2"} {
		if content, err := os.ReadFile(fixture); err == nil {
			f.Add(content)
		}
	}
	f.Add([]byte("1 1:-1 2:1 256:0.5\n10 3:-0.25\n"))
	f.Add([]byte("5 1:1e-3\n\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		images, labels, err := parseUSPS(file)
		if err != nil {
			return
		}
		if len(labels) == 0 || len(images) != 256*len(labels) {
			t.Fatalf("%d pixels for %d labels", len(images), len(labels))
		}
		for _, label := range labels {
			if label > 9 {
				t.Fatalf("label %d accepted", label)
			}
		}
	})
}

func FuzzFashionJSON(f *testing.F) {
	f.Add([]byte(`{"data":[[1,2,3],[]]}`))
	f.Add([]byte(`{"data":[]}`))
	f.Fuzz(func(t *testing.T, class0 []byte) {
		var perClass [10][]byte
		perClass[0] = class0
		for class := 1; class < 10; class++ {
			perClass[class] = []byte(`{"data":[]}`)
		}
		files, err := fashionNpmSplit(perClass, 1)
		if err != nil {
			return
		}
		for _, split := range []string{"train", "t10k"} {
			n, _, _, _, err := idxImages(files["npm-split-"+split+"-images-idx3-ubyte"])
			labels, labelErr := idxLabels(files["npm-split-"+split+"-labels-idx1-ubyte"], 10)
			if err != nil || labelErr != nil || n != len(labels) {
				t.Fatalf("%s: converted files do not parse back (%v, %v, %d images, %d labels)", split, err, labelErr, n, len(labels))
			}
		}
	})
}

func FuzzParseUSPSText(f *testing.F) {
	// The text path alone: bzip2 inputs allocate their decompression tables on every execution,
	// which keeps FuzzParseUSPS slow; this target explores the line parser faster.
	f.Add([]byte("1 1:-1 2:1 256:0.5\n10 3:-0.25\n"))
	f.Add([]byte("5 1:1e-3\n\n"))
	f.Add([]byte("3 1:0.5 256:-0.5\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		if bytes.HasPrefix(text, bzip2Magic) {
			return
		}
		images, labels, err := parseUSPS(text)
		if err == nil && (len(labels) == 0 || len(images) != 256*len(labels)) {
			t.Fatalf("%d pixels for %d labels", len(images), len(labels))
		}
	})
}

func FuzzParseNPYImages(f *testing.F) {
	f.Add(npyFile("<f4", []int{1, 2, 2}, float32Bytes(0, 0.5, -0.5, 1)))
	f.Add(npyFile("|u1", []int{2, 1, 2, 1}, []byte{0, 9, 200, 255}))
	f.Add(npyFile("<f8", []int{1, 1, 1, 1}, make([]byte, 8)))
	f.Add([]byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"))
	f.Fuzz(func(t *testing.T, file []byte) {
		for _, r := range []Range{RangeMinusOneOne, RangeZeroOne} {
			images, err := parseNPYImages(file, r)
			if err != nil {
				continue
			}
			if len(images.Pixels) != images.N*images.Height*images.Width*images.Channels || images.N == 0 {
				t.Fatalf("%d×%d×%d×%d images but %d pixels", images.N, images.Height, images.Width, images.Channels, len(images.Pixels))
			}
			for i, p := range images.Pixels {
				if !(p >= -1 && p <= 1) {
					t.Fatalf("pixel %d = %g, outside [-1, 1]", i, p)
				}
			}
		}
	})
}
