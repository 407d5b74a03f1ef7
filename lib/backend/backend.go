// Package backend chooses the compute backend that every advlab graph runs on.
//
// The choice, in order:
//
//  1. GOMLX_BACKEND when it is set ("go", "go:parallelism=4", "xla:cuda", "xla:/abs/plugin.so",
//     "onnx:cpu", ...). An unknown backend name is an error that lists the valid ones.
//  2. XLA when a PJRT plugin is found on disk (PJRT_PLUGIN_LIBRARY_PATH or the standard plugin
//     directories), preferring a CUDA plugin over the CPU one.
//  3. The pure-Go backend, the embedded default that needs no native library.
//
// ONNX Runtime is selectable with GOMLX_BACKEND=onnx:cpu once its library is installed
// (ONNXRUNTIME_SHARED_LIBRARY_PATH, or the copy `make onnx` places under the advlab cache
// directory), but never chosen on its own: it lacks ops some graphs use, and it embeds
// non-trainable variables of inference graphs (batch-norm statistics) as constants at compile
// time, so a process that keeps training after compiling an inference graph must recompile it.
//
// Nothing is ever downloaded: the automatic installers of PJRT plugins and of ONNX Runtime are
// disabled. The pure-Go backend always runs with unlimited parallelism (parallelism=-1) unless the
// configuration names a parallelism: its default worker pool can deadlock on graphs with parallel
// convolutions.
//
// This is the only package of advlab that names a backend.
package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	onnxbackend "github.com/gomlx/compute-onnx"
	_ "github.com/gomlx/compute/gobackend"  // the pure-Go backend, always present.
	_ "github.com/gomlx/go-xla/compute/xla" // XLA through PJRT; never auto-installs (autoinstall is not linked).
	"github.com/gomlx/go-xla/pjrt"
)

// EnvVar is the environment variable that names the backend configuration explicitly.
const EnvVar = compute.ConfigEnvVar

// Names lists the backend names advlab accepts in GOMLX_BACKEND, with what each one is.
var Names = map[string]string{
	"go":   "GoMLX's pure-Go backend (options: parallelism=N, ops_sequential, ops_parallel)",
	"xla":  "XLA through a PJRT plugin (config: plugin name such as cpu or cuda, or an absolute .so path)",
	"onnx": "ONNX Runtime (config: cpu or cuda, threads=N; needs libonnxruntime, see `make onnx`)",
}

// Choice is the backend configuration advlab decided on, and why.
type Choice struct {
	// Config is the full configuration string passed to compute.NewWithConfig, e.g. "go:parallelism=-1".
	Config string
	// Name is the backend name: "go", "xla" or "onnx".
	Name string
	// Reason says in one sentence why this backend was chosen.
	Reason string
	// SIMD reports whether this binary was built with Go's SIMD experiment (GOEXPERIMENT=simd),
	// which speeds up the pure-Go backend's matrix multiplications.
	SIMD bool
}

// String formats the choice for a log line or a notebook cell.
func (c Choice) String() string {
	simd := "off"
	if c.SIMD {
		simd = "on"
	}
	return fmt.Sprintf("backend %q (%s); Go SIMD build: %s", c.Config, c.Reason, simd)
}

func init() {
	// Make sure no code path downloads a native library behind the user's back.
	onnxbackend.EnableAutoInstall(false)
}

// Choose decides which backend to use without creating it.
func Choose() (Choice, error) {
	if config, found := os.LookupEnv(EnvVar); found && strings.TrimSpace(config) != "" {
		return fromEnv(strings.TrimSpace(config))
	}
	if name, path, found := findPJRTPlugin(); found {
		return Choice{Config: "xla:" + name, Name: "xla", SIMD: simdBuild,
			Reason: fmt.Sprintf("PJRT plugin %q found at %s", name, path)}, nil
	}
	return Choice{Config: goConfig(""), Name: "go", SIMD: simdBuild,
		Reason: "no PJRT plugin found; using the embedded pure-Go backend"}, nil
}

// fromEnv validates an explicit GOMLX_BACKEND value.
func fromEnv(config string) (Choice, error) {
	name, options, _ := strings.Cut(config, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "onnxruntime" {
		name = "onnx"
	}
	if _, known := Names[name]; !known {
		return Choice{}, fmt.Errorf("backend: %s=%q names an unknown backend %q; valid backends are: %s",
			EnvVar, config, name, validList())
	}
	choice := Choice{Name: name, SIMD: simdBuild, Reason: fmt.Sprintf("set by %s", EnvVar)}
	switch name {
	case "go":
		choice.Config = goConfig(options)
	case "onnx":
		config, note, err := onnxConfig(options)
		if err != nil {
			return Choice{}, err
		}
		choice.Config, choice.Reason = config, choice.Reason+"; "+note
	default:
		choice.Config = name
		if options != "" {
			choice.Config += ":" + options
		}
	}
	return choice, nil
}

// goConfig adds unlimited parallelism to a pure-Go configuration unless it sets its own.
func goConfig(options string) string {
	if strings.Contains(options, "parallelism") {
		return "go:" + options
	}
	if options == "" {
		return "go:parallelism=-1"
	}
	return "go:parallelism=-1," + options
}

func validList() string {
	names := make([]string, 0, len(Names))
	for name := range Names {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%q (%s)", name, Names[name])
	}
	return strings.Join(parts, "; ")
}

// findPJRTPlugin looks for an installed PJRT plugin, preferring CUDA, then CPU, then any other.
func findPJRTPlugin() (name, path string, found bool) {
	plugins := pjrt.AvailablePlugins()
	if len(plugins) == 0 {
		return "", "", false
	}
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, prefix := range []string{"cuda", "cpu"} {
		if i := slices.IndexFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) }); i >= 0 {
			return names[i], plugins[names[i]], true
		}
	}
	return names[0], plugins[names[0]], true
}

// ONNXRuntimeDir is where `make onnx` installs libonnxruntime: $ADVLAB_CACHE/onnxruntime, or
// advlab/onnxruntime under the user's cache directory.
func ONNXRuntimeDir() string {
	return filepath.Join(CacheDir(), "onnxruntime")
}

// CacheDir is advlab's cache directory: $ADVLAB_CACHE, or "advlab" under the user's cache directory
// (falling back to the system temporary directory when there is no home).
func CacheDir() string {
	if dir := os.Getenv("ADVLAB_CACHE"); dir != "" {
		return dir
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "advlab")
	}
	return filepath.Join(os.TempDir(), "advlab-cache")
}

// ORTThreadsLibrary is the file name of advlab's thread-count layer for ONNX Runtime
// (kernel/onnx/ortthreads.c), which `make onnx` builds next to libonnxruntime in ONNXRuntimeDir.
// compute-onnx v0.1.5 creates its sessions with ONNX Runtime's default thread pool, which ran
// DCGAN steps about 30% slower on 2 cores than an explicit intra-op thread count; loaded in
// libonnxruntime's place, the layer forwards every call to it and sets that count on every new
// session: ADVLAB_ORT_THREADS, or one thread per CPU this process may use.
const ORTThreadsLibrary = "libadvlab_ortthreads.so"

// onnxConfig turns the options of GOMLX_BACKEND=onnx:OPTIONS into compute-onnx's configuration,
// taking out advlab's own option threads=N, and points compute-onnx at the installed library
// (through the thread-count layer where `make onnx` built it). note says which threads it runs.
func onnxConfig(options string) (config, note string, err error) {
	var kept []string
	threads := ""
	for _, part := range strings.Split(options, ",") {
		part = strings.TrimSpace(part)
		key, value, isOption := strings.Cut(part, "=")
		if isOption && strings.EqualFold(strings.TrimSpace(key), "threads") {
			n, convErr := strconv.Atoi(strings.TrimSpace(value))
			if convErr != nil || n < 0 {
				return "", "", fmt.Errorf("backend: %s option threads=%q: want a number of intra-op threads >= 0 "+
					"(0: ONNX Runtime's own default)", EnvVar, value)
			}
			threads = strconv.Itoa(n)
			continue
		}
		if part != "" {
			kept = append(kept, part)
		}
	}
	if len(kept) == 0 {
		kept = []string{"cpu"}
	}
	config = "onnx:" + strings.Join(kept, ",")

	library := os.Getenv(ortLibraryEnv)
	if library == "" {
		if path, found := FindONNXRuntime(); found && filepath.Base(path) != ORTThreadsLibrary {
			library = path
		}
	}
	layer := filepath.Join(ONNXRuntimeDir(), ORTThreadsLibrary)
	_, layerErr := os.Stat(layer)
	switch {
	case library == "":
		return config, "ONNX Runtime is not installed (run `make onnx`)", nil
	case layerErr != nil:
		if threads != "" {
			return "", "", fmt.Errorf("backend: %s option threads=%s needs advlab's thread-count layer %s, which "+
				"`make onnx` builds (a C compiler is needed): %v", EnvVar, threads, layer, layerErr)
		}
		_ = os.Setenv(onnxLibraryEnv, library)
		return config, "ONNX Runtime's default thread pool (`make onnx` builds the layer that sets the thread count)", nil
	}
	_ = os.Setenv(onnxLibraryEnv, layer)
	_ = os.Setenv(ortLibraryEnv, library)
	if threads != "" {
		_ = os.Setenv(ortThreadsEnv, threads)
	}
	switch n := os.Getenv(ortThreadsEnv); n {
	case "":
		note = fmt.Sprintf("%d intra-op threads (one per CPU)", runtime.NumCPU()) // the layer's sched_getaffinity count
	case "0":
		note = "ONNX Runtime's default thread pool (" + ortThreadsEnv + "=0)"
	default:
		note = n + " intra-op threads"
	}
	return config, note, nil
}

// The environment variables of the ONNX Runtime library choice: compute-onnx's, and the thread-count
// layer's (the real library, and the thread count).
const (
	onnxLibraryEnv = "ONNXRUNTIME_SHARED_LIBRARY_PATH"
	ortLibraryEnv  = "ADVLAB_ORT_LIBRARY"
	ortThreadsEnv  = "ADVLAB_ORT_THREADS"
)

// FindONNXRuntime returns the path of an installed libonnxruntime, if any.
func FindONNXRuntime() (string, bool) {
	candidates := []string{os.Getenv(onnxLibraryEnv)}
	for _, name := range []string{"libonnxruntime.so", "libonnxruntime.so.1", "libonnxruntime.dylib"} {
		candidates = append(candidates, filepath.Join(ONNXRuntimeDir(), name))
	}
	for _, path := range candidates {
		if path == "" {
			continue
		}
		if info, err := os.Stat(path); err == nil && !info.IsDir() {
			return path, true
		}
	}
	return "", false
}

var (
	cached      compute.Backend
	cachedInfo  Choice
	cachedError error
	once        sync.Once
)

// New returns the process-wide backend (created on the first call) and the reason it was chosen.
func New() (compute.Backend, Choice, error) {
	once.Do(func() {
		cachedInfo, cachedError = Choose()
		if cachedError != nil {
			return
		}
		cached, cachedError = create(cachedInfo.Config)
	})
	return cached, cachedInfo, cachedError
}

// MustNew is New for graph-building code and notebooks: it panics with the error.
func MustNew() compute.Backend {
	b, _, err := New()
	if err != nil {
		panic(err)
	}
	return b
}

// create builds the backend, turning the constructors' panics into errors.
func create(config string) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("backend: creating %q failed: %v; valid backends are: %s", config, r, validList())
		}
	}()
	if strings.HasPrefix(config, "go:") {
		// The pure-Go backend prints "Go backend: parallelism set to N" on stdout when given an
		// option; the choice is reported by Choice.String instead, so keep notebook cells clean.
		restore := silenceStdout()
		defer restore()
	}
	b, err = compute.NewWithConfig(config)
	if err != nil {
		return nil, fmt.Errorf("backend: creating %q failed: %w (valid backends: %s)", config, err, validList())
	}
	return b, nil
}

// silenceStdout points os.Stdout at the null device until the returned function restores it.
func silenceStdout() (restore func()) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return func() {}
	}
	saved := os.Stdout
	os.Stdout = devNull
	return func() {
		os.Stdout = saved
		_ = devNull.Close()
	}
}
