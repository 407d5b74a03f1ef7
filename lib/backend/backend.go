// Package backend chooses the compute backend that every advlab graph runs on.
//
// The choice, in order:
//
//  1. GOMLX_BACKEND when it is set ("go", "go:parallelism=4", "xla:cpu", "xla:cuda",
//     "xla:/abs/plugin.so", "onnx:cpu", ...). An unknown backend name is an error that lists the
//     valid ones; an XLA plugin that is missing or does not load is an error too (no fallback: the
//     user asked for it).
//  2. XLA on CUDA when a CUDA PJRT plugin is found (PJRT_PLUGIN_LIBRARY_PATH or go-xla's standard
//     plugin directories).
//  3. XLA on the CPU when the plugin `make pjrt` installs (PJRTDir) or another CPU PJRT plugin is
//     found.
//  4. The pure-Go backend, the embedded default that needs no native library. New falls back to
//     it, and says why in Choice.Reason, when a plugin found in 2 or 3 fails to load.
//
// ONNX Runtime is selectable with GOMLX_BACKEND=onnx:cpu once its library is installed
// (ONNXRUNTIME_SHARED_LIBRARY_PATH, or the copy `make onnx` places under the advlab cache
// directory), but never chosen on its own: it lacks ops some graphs use, and it embeds
// non-trainable variables of inference graphs (batch-norm statistics) as constants at compile
// time, so a process that keeps training after compiling an inference graph must recompile it.
//
// advlab's own options, taken out before the backend sees the configuration: "devices=N" for XLA
// on the CPU (the number of host devices its client exposes, for data-parallel training; the
// plugin's default is 4), "threads=N" for ONNX Runtime.
//
// Nothing is ever downloaded: the automatic installers of PJRT plugins and of ONNX Runtime are
// disabled. The pure-Go backend always runs with unlimited parallelism (parallelism=-1) unless the
// configuration names a parallelism: its default worker pool can deadlock on graphs with parallel
// convolutions.
//
// This is the only package of advlab that names a backend.
package backend

import (
	"debug/elf"
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
	_ "github.com/gomlx/compute/gobackend" // the pure-Go backend, always present.
	"github.com/gomlx/go-xla/compute/xla"  // XLA through PJRT; never auto-installs (autoinstall is not linked).
	"github.com/gomlx/go-xla/pjrt"
)

// EnvVar is the environment variable that names the backend configuration explicitly.
const EnvVar = compute.ConfigEnvVar

// Names lists the backend names advlab accepts in GOMLX_BACKEND, with what each one is.
var Names = map[string]string{
	"go":   "GoMLX's pure-Go backend (options: parallelism=N, ops_sequential, ops_parallel)",
	"xla":  "XLA through a PJRT plugin (config: plugin name such as cpu or cuda, or an absolute .so path; devices=N on the CPU; see `make pjrt`)",
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
	// Explicit reports that GOMLX_BACKEND named the backend: New then never falls back.
	Explicit bool
	// cpuDevices is the host device count asked of XLA's CPU client (advlab's devices=N); 0: the
	// plugin's default.
	cpuDevices int
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
	if name, path, found := findCUDAPlugin(); found {
		return Choice{Config: "xla:" + name, Name: "xla", SIMD: simdBuild,
			Reason: fmt.Sprintf("CUDA PJRT plugin %q found at %s", name, path)}, nil
	}
	path, found, note := installedCPUPlugin()
	if found {
		return Choice{Config: xlaPathConfig(path, ""), Name: "xla", SIMD: simdBuild,
			Reason: fmt.Sprintf("XLA CPU plugin installed by `make pjrt` at %s", path)}, nil
	}
	other, found, skipped := findCPUPlugin()
	if found {
		return Choice{Config: xlaPathConfig(other, ""), Name: "xla", SIMD: simdBuild,
			Reason: fmt.Sprintf("CPU PJRT plugin found at %s", other)}, nil
	}
	why := "no PJRT plugin found (`make pjrt` installs XLA's CPU plugin)"
	if note != "" || len(skipped) > 0 {
		why = strings.Join(slices.DeleteFunc(append([]string{note}, skipped...), func(s string) bool { return s == "" }), "; ")
	}
	return Choice{Config: goConfig(""), Name: "go", SIMD: simdBuild,
		Reason: why + "; using the embedded pure-Go backend"}, nil
}

// PJRTDir is where `make pjrt` installs XLA's CPU PJRT plugin: $ADVLAB_CACHE/pjrt, or advlab/pjrt
// under the user's cache directory.
func PJRTDir() string {
	return filepath.Join(CacheDir(), "pjrt")
}

// CPUPluginFile is the file name of the installed CPU plugin in PJRTDir (go-xla's naming, so that
// its name reads "cpu").
const CPUPluginFile = "pjrt_c_api_cpu_plugin.so"

// installedCPUPlugin reports the plugin `make pjrt` installed, if any. A plugin whose size differs
// from the one the installer recorded (a damaged or half-copied file) is not used: note says so.
func installedCPUPlugin() (path string, found bool, note string) {
	path = filepath.Join(PJRTDir(), CPUPluginFile)
	info, err := os.Stat(path)
	if err != nil {
		return path, false, ""
	}
	if err := checkInstalledSize(path, info); err != nil {
		return path, false, err.Error()
	}
	if err := CheckPlugin(path); err != nil {
		return path, false, err.Error()
	}
	return path, true, ""
}

// checkInstalledSize compares a plugin in PJRTDir with the size the installer recorded in SIZE.
func checkInstalledSize(path string, info os.FileInfo) error {
	if info.IsDir() {
		return fmt.Errorf("the XLA CPU plugin %s is a directory, not a shared library (run `make pjrt`)", path)
	}
	recorded, err := os.ReadFile(filepath.Join(filepath.Dir(path), "SIZE"))
	if err != nil {
		return nil // not installed by `make pjrt`: the loader will say whether it is a plugin
	}
	want, err := strconv.ParseInt(strings.TrimSpace(string(recorded)), 10, 64)
	if err == nil && want != info.Size() {
		return fmt.Errorf("the XLA CPU plugin %s has %d bytes, but `make pjrt` installed %d: it is damaged "+
			"(run `make pjrt` to install it again)", path, info.Size(), want)
	}
	return nil
}

// CheckPlugin checks that path is a PJRT plugin this process can load, before it is loaded: an ELF
// shared library for this machine, whole (dlopen of a truncated library crashes the process with
// SIGBUS rather than failing), exporting GetPjrtApi. It reads the headers and the dynamic symbol
// table, not the whole file.
func CheckPlugin(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("PJRT plugin %s cannot be read: %w", path, err)
	}
	if info.IsDir() {
		return fmt.Errorf("PJRT plugin %s is a directory, not a shared library", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("PJRT plugin %s is not a shared library (%v): the file is damaged or not a plugin", path, err)
	}
	defer func() { _ = f.Close() }()
	if want, known := elfMachines[runtime.GOARCH]; known && f.Machine != want {
		return fmt.Errorf("PJRT plugin %s is built for %s, but this machine is %s", path, f.Machine, runtime.GOARCH)
	}
	size := uint64(info.Size())
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_LOAD && prog.Off+prog.Filesz > size {
			return fmt.Errorf("PJRT plugin %s is truncated: %d bytes, but its segments need %d (a damaged or half-copied "+
				"file; `make pjrt` installs the CPU plugin again)", path, size, prog.Off+prog.Filesz)
		}
	}
	for _, section := range f.Sections {
		if section.Type != elf.SHT_NOBITS && section.Offset+section.Size > size {
			return fmt.Errorf("PJRT plugin %s is truncated: %d bytes, but its section %s ends at %d (a damaged or "+
				"half-copied file; `make pjrt` installs the CPU plugin again)", path, size, section.Name, section.Offset+section.Size)
		}
	}
	symbols, err := f.DynamicSymbols()
	if err != nil {
		return fmt.Errorf("PJRT plugin %s: reading its symbols: %v", path, err)
	}
	for _, symbol := range symbols {
		if symbol.Name == "GetPjrtApi" && symbol.Section != elf.SHN_UNDEF {
			return nil
		}
	}
	return fmt.Errorf("PJRT plugin %s exports no GetPjrtApi: it is a shared library, but not a PJRT plugin", path)
}

// elfMachines maps GOARCH to the ELF machine of a library this process can load.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// xlaPathConfig is the XLA configuration of a plugin given by its absolute path. A CPU plugin
// shares its buffers with the host (go-xla does that only for a plugin it finds by the name "cpu").
func xlaPathConfig(path, options string) string {
	config := "xla:" + path
	if !strings.Contains(options, "shared_buffers") && strings.Contains(filepath.Base(path), "cpu") {
		config += ",shared_buffers"
	}
	if options != "" {
		config += "," + options
	}
	return config
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
	case "xla":
		config, devices, err := xlaConfig(options)
		if err != nil {
			return Choice{}, err
		}
		choice.Config, choice.cpuDevices = config, devices
		if devices > 0 {
			choice.Reason += fmt.Sprintf("; %d host devices", devices)
		}
	}
	choice.Explicit = true
	return choice, nil
}

// xlaConfig resolves GOMLX_BACKEND=xla:OPTIONS: the plugin (a name, or an absolute path that must
// exist), advlab's devices=N taken out, go-xla's own options kept. "xla" and "xla:cpu" mean the
// plugin `make pjrt` installed where there is one.
func xlaConfig(options string) (config string, devices int, err error) {
	parts := strings.Split(options, ",")
	plugin := strings.TrimSpace(parts[0])
	var kept []string
	for _, part := range parts[1:] {
		part = strings.TrimSpace(part)
		key, value, isOption := strings.Cut(part, "=")
		if isOption && strings.EqualFold(strings.TrimSpace(key), "devices") {
			n, convErr := strconv.Atoi(strings.TrimSpace(value))
			if convErr != nil || n < 1 || n > 1024 {
				return "", 0, fmt.Errorf("backend: %s option devices=%q: want the number of XLA CPU host devices, "+
					"an integer from 1 to 1024", EnvVar, value)
			}
			devices = n
			continue
		}
		if part != "" {
			kept = append(kept, part)
		}
	}
	rest := strings.Join(kept, ",")
	if plugin == "" || plugin == "cpu" {
		if path, found, note := installedCPUPlugin(); found {
			return xlaPathConfig(path, rest), devices, nil
		} else if note != "" {
			return "", 0, fmt.Errorf("backend: %s=xla:%s: %s", EnvVar, options, note)
		}
		other, found, skipped := findCPUPlugin()
		if !found {
			why := ""
			if len(skipped) > 0 {
				why = " (" + strings.Join(skipped, "; ") + ")"
			}
			return "", 0, fmt.Errorf("backend: %s=xla:%s: no XLA CPU plugin is installed%s; `make pjrt` installs it into %s, "+
				"or set PJRT_PLUGIN_LIBRARY_PATH to a directory holding pjrt_c_api_cpu_plugin.so", EnvVar, options, why, PJRTDir())
		}
		plugin = other
	}
	if filepath.IsAbs(plugin) {
		info, statErr := os.Stat(plugin)
		switch {
		case statErr != nil:
			return "", 0, fmt.Errorf("backend: %s names the PJRT plugin %s, which cannot be read (%v); give the absolute "+
				"path of a pjrt_c_api_*_plugin.so, or run `make pjrt` and use xla:cpu", EnvVar, plugin, statErr)
		case info.IsDir():
			return "", 0, fmt.Errorf("backend: %s names %s, a directory; give the absolute path of the plugin's .so file",
				EnvVar, plugin)
		}
		if err := CheckPlugin(plugin); err != nil {
			return "", 0, fmt.Errorf("backend: %s=xla:%s: %v", EnvVar, options, err)
		}
		if devices > 0 && !strings.Contains(filepath.Base(plugin), "cpu") {
			return "", 0, fmt.Errorf("backend: %s option devices=%d is for XLA's CPU plugin, not %s", EnvVar, devices, plugin)
		}
		return xlaPathConfig(plugin, rest), devices, nil
	}
	if devices > 0 && plugin != "cpu" {
		return "", 0, fmt.Errorf("backend: %s option devices=%d is for XLA's CPU plugin, not %q", EnvVar, devices, plugin)
	}
	config = "xla:" + plugin
	if rest != "" {
		config += "," + rest
	}
	return config, devices, nil
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

// findCUDAPlugin looks for a CUDA PJRT plugin in go-xla's search path (PJRT_PLUGIN_LIBRARY_PATH, or
// its standard directories) on a machine with an NVIDIA device. go-xla's search opens each plugin
// it finds, so it runs only where a GPU is present.
func findCUDAPlugin() (name, path string, found bool) {
	if devices, _ := filepath.Glob("/dev/nvidia*"); len(devices) == 0 {
		return "", "", false
	}
	plugins := pjrt.AvailablePlugins()
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		if pjrt.IsCUDAName(n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "", "", false
	}
	sort.Strings(names)
	return names[0], plugins[names[0]], true
}

// findCPUPlugin looks for a CPU PJRT plugin (pjrt_c_api_cpu*_plugin.so) in go-xla's search path
// without opening it: the first that CheckPlugin accepts. skipped lists the ones it did not.
func findCPUPlugin() (path string, found bool, skipped []string) {
	for _, dir := range pluginSearchDirs() {
		candidates, _ := filepath.Glob(filepath.Join(dir, "pjrt_c_api_cpu*_plugin.so"))
		sort.Strings(candidates)
		for _, candidate := range candidates {
			if err := CheckPlugin(candidate); err != nil {
				skipped = append(skipped, err.Error())
				continue
			}
			return candidate, true, skipped
		}
	}
	return "", false, skipped
}

// pluginSearchDirs are the directories go-xla v0.4.5 searches for plugins: PJRT_PLUGIN_LIBRARY_PATH
// when it is set, else ~/.local/lib/go-xla and /usr/local/lib/go-xla (the library path it also
// searches holds system libraries, not plugins).
func pluginSearchDirs() []string {
	if paths := os.Getenv(pjrt.PJRTPluginPathsEnv); paths != "" {
		return filepath.SplitList(paths)
	}
	var dirs []string
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".local", "lib", "go-xla"))
	}
	return append(dirs, "/usr/local/lib/go-xla")
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
		cached, cachedError = createChoice(cachedInfo)
		if cachedError != nil && cachedInfo.Name == "xla" && !cachedInfo.Explicit {
			// A plugin found on disk that does not load: the user did not ask for it, so run on
			// the embedded backend and say why.
			fallback := Choice{Config: goConfig(""), Name: "go", SIMD: simdBuild,
				Reason: fmt.Sprintf("the PJRT plugin chosen by default did not load (%v); using the embedded pure-Go "+
					"backend (`make pjrt` reinstalls the CPU plugin; GOMLX_BACKEND=go skips it)", cachedError)}
			cached, cachedError = create(fallback.Config)
			cachedInfo = fallback
		}
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

// createChoice builds the backend of a choice, passing the host device count to XLA's CPU client.
func createChoice(c Choice) (compute.Backend, error) {
	if c.cpuDevices == 0 {
		return create(c.Config)
	}
	xlaOptions := strings.TrimPrefix(c.Config, "xla:")
	b, err := xla.NewWithOptions(xlaOptions, pjrt.NamedValuesMap{"cpu_device_count": int64(c.cpuDevices)})
	if err != nil {
		return nil, fmt.Errorf("backend: creating %q with %d host devices failed: %w", c.Config, c.cpuDevices, err)
	}
	return b, nil
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
