package backend

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/advlab/advlab/internal/testenv"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

func TestFromEnvGoAddsUnlimitedParallelism(t *testing.T) {
	isolateONNX(t, t.TempDir())
	for config, want := range map[string]string{
		"go":                "go:parallelism=-1",
		"go:ops_sequential": "go:parallelism=-1,ops_sequential",
		"go:parallelism=0":  "go:parallelism=0",
		"xla:cuda":          "xla:cuda",
		"onnx":              "onnx:cpu",
		"ONNXRUNTIME:cuda":  "onnx:cuda",
	} {
		choice, err := fromEnv(config)
		if err != nil {
			t.Fatalf("fromEnv(%q): %v", config, err)
		}
		if choice.Config != want {
			t.Errorf("fromEnv(%q).Config = %q, want %q", config, choice.Config, want)
		}
	}
}

func TestUnknownBackendListsValidOnes(t *testing.T) {
	t.Setenv(EnvVar, "tpu9000")
	_, err := Choose()
	if err == nil {
		t.Fatal("Choose with GOMLX_BACKEND=tpu9000 succeeded, want an error")
	}
	for _, name := range []string{`"tpu9000"`, `"go"`, `"xla"`, `"onnx"`} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not mention %s", err, name)
		}
	}
}

func TestBrokenBackendConfigIsAnError(t *testing.T) {
	_, err := create("xla:/nonexistent/pjrt_plugin_missing.so")
	if err == nil {
		t.Fatal("creating an XLA backend from a missing plugin succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "valid backends") {
		t.Errorf("error %q does not list the valid backends", err)
	}
}

func TestDefaultRunsAGraph(t *testing.T) {
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	t.Setenv("ADVLAB_CACHE", t.TempDir())
	t.Setenv("ONNXRUNTIME_SHARED_LIBRARY_PATH", "")
	t.Setenv(EnvVar, "")
	choice, err := Choose()
	if err != nil {
		t.Fatal(err)
	}
	if choice.Name != "go" || choice.Config != "go:parallelism=-1" {
		t.Fatalf("default choice = %+v, want the pure-Go backend with parallelism=-1", choice)
	}
	b, err := create(choice.Config)
	if err != nil {
		t.Fatal(err)
	}
	out := graph.MustExecOnce(b, func(x *graph.Node) *graph.Node {
		return graph.ReduceAllSum(graph.Mul(x, x))
	}, []float32{1, 2, 3})
	if got := out.Value().(float32); got != 14 {
		t.Fatalf("sum of squares = %v, want 14", got)
	}
}

// isolateONNX points the ONNX Runtime lookup at cache and restores the library variables after t.
func isolateONNX(t *testing.T, cache string) {
	t.Helper()
	t.Setenv("ADVLAB_CACHE", cache)
	for _, key := range []string{onnxLibraryEnv, ortLibraryEnv, ortThreadsEnv} {
		t.Setenv(key, "")
	}
}

func TestONNXOptions(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, "onnxruntime")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	touch := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// No library at all: the configuration still parses, and the reason says what to install.
	isolateONNX(t, cache)
	choice, err := fromEnv("onnx:threads=3")
	if err != nil || choice.Config != "onnx:cpu" || !strings.Contains(choice.Reason, "make onnx") {
		t.Errorf("without ONNX Runtime: %+v, %v; want config onnx:cpu and advice to run make onnx", choice, err)
	}

	// The library without the thread-count layer: threads=N is an error that names the layer.
	touch("libonnxruntime.so.1")
	isolateONNX(t, cache)
	if _, err := fromEnv("onnx:cpu,threads=3"); err == nil || !strings.Contains(err.Error(), ORTThreadsLibrary) {
		t.Errorf("threads=3 without the layer: error %v, want one naming %s", err, ORTThreadsLibrary)
	}
	if choice, err := fromEnv("onnx:cpu"); err != nil || os.Getenv(onnxLibraryEnv) != filepath.Join(dir, "libonnxruntime.so.1") {
		t.Errorf("without the layer: %+v, %v, %s=%q; want the library itself", choice, err, onnxLibraryEnv, os.Getenv(onnxLibraryEnv))
	}

	// With the layer: compute-onnx loads the layer, which loads the library with N threads.
	touch(ORTThreadsLibrary)
	isolateONNX(t, cache)
	choice, err = fromEnv("ONNX:threads=3,cpu")
	if err != nil {
		t.Fatal(err)
	}
	if choice.Config != "onnx:cpu" || !strings.Contains(choice.Reason, "3 intra-op threads") {
		t.Errorf("with the layer: %+v; want config onnx:cpu and 3 intra-op threads in the reason", choice)
	}
	for key, want := range map[string]string{onnxLibraryEnv: filepath.Join(dir, ORTThreadsLibrary),
		ortLibraryEnv: filepath.Join(dir, "libonnxruntime.so.1"), ortThreadsEnv: "3"} {
		if got := os.Getenv(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	// Choosing again in the same process must not take the layer for the real library.
	if _, err := fromEnv("onnx:cpu"); err != nil || os.Getenv(ortLibraryEnv) != filepath.Join(dir, "libonnxruntime.so.1") {
		t.Errorf("second choice: %v, %s = %q", err, ortLibraryEnv, os.Getenv(ortLibraryEnv))
	}

	for _, bad := range []string{"onnx:threads=-1", "onnx:threads=two"} {
		if _, err := fromEnv(bad); err == nil || !strings.Contains(err.Error(), "threads") {
			t.Errorf("fromEnv(%q): error %v, want one about threads", bad, err)
		}
	}
}

// TestONNXThreadsLayerRuns runs a graph on ONNX Runtime through the thread-count layer that
// `make onnx` installs (make test installs it first), in a child process with ADVLAB_ORT_VERBOSE
// set: the result must be right, the layer loaded, and the session's options must carry the
// thread count asked for.
func TestONNXThreadsLayerRuns(t *testing.T) {
	if os.Getenv("ADVLAB_TEST_ONNX_CHILD") == "1" {
		onnxChild(t)
		return
	}
	if _, err := os.Stat(filepath.Join(ONNXRuntimeDir(), ORTThreadsLibrary)); err != nil {
		testenv.Missing(t, "ONNX Runtime and advlab's thread-count layer are not installed (run `make onnx`): %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestONNXThreadsLayerRuns$", "-test.v")
	cmd.Env = append(os.Environ(), "ADVLAB_TEST_ONNX_CHILD=1", "ADVLAB_ORT_VERBOSE=1", EnvVar+"=onnx:cpu,threads=3",
		ortThreadsEnv+"=", ortLibraryEnv+"=", onnxLibraryEnv+"=")
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("the child running a graph on ONNX Runtime failed: %v", err)
	}
	if want := "libadvlab_ortthreads: session options with 3 intra-op threads"; !strings.Contains(string(out), want) {
		t.Errorf("the child's output lacks %q: the layer did not set the thread count", want)
	}
}

// onnxChild is the child of TestONNXThreadsLayerRuns: it runs ones(n×n)·ones(n×n) on the backend
// GOMLX_BACKEND names and checks the sum and that the layer is mapped into the process.
func onnxChild(t *testing.T) {
	b, choice, err := New()
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	ones := make([]float32, n*n)
	for i := range ones {
		ones[i] = 1
	}
	out := graph.MustExecOnce(b, func(x *graph.Node) *graph.Node {
		return graph.ReduceAllSum(graph.Dot(x, x).Product())
	}, tensors.FromFlatDataAndDimensions(ones, n, n))
	if got := out.Value().(float32); got != n*n*n {
		t.Fatalf("sum of ones·ones on %s = %v, want %d", choice.Config, got, n*n*n)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err == nil && !strings.Contains(string(maps), ORTThreadsLibrary) {
		t.Errorf("%s is not loaded after running a graph on %s", ORTThreadsLibrary, choice)
	}
	t.Logf("ran on %s", choice)
}

// TestCheckPluginRefusesDamagedFiles: a file that is not a loadable plugin is refused before it is
// opened (dlopen of a truncated library kills the process with SIGBUS), with a message that names
// the file and says what is wrong with it.
func TestCheckPluginRefusesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, content []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cases := map[string]struct {
		path string
		want string
	}{
		"missing":     {filepath.Join(dir, "pjrt_c_api_cpu_plugin.so"), "cannot be read"},
		"directory":   {dir, "is a directory"},
		"text":        {write("text.so", []byte("not a library\n")), "not a shared library"},
		"empty":       {write("empty.so", nil), "not a shared library"},
		"truncated":   {write("half.so", whole[:len(whole)/2]), "damaged"},
		"no PJRT API": {write("other.so", whole), "exports no GetPjrtApi"},
	}
	for name, c := range cases {
		err := CheckPlugin(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: CheckPlugin(%s) = %v, want an error naming the file and saying %q", name, c.path, err, c.want)
		}
	}
}

// TestXLAConfigErrors: GOMLX_BACKEND values naming XLA that cannot work are refused up front, each
// saying what was wrong and what is expected; none falls back, since the user asked for XLA.
func TestXLAConfigErrors(t *testing.T) {
	t.Setenv("ADVLAB_CACHE", t.TempDir())
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	dir := t.TempDir()
	for config, want := range map[string]string{
		"xla:cpu":                      "`make pjrt`",
		"xla":                          "no XLA CPU plugin is installed",
		"xla:cpu,devices=0":            "devices=\"0\"",
		"xla:cpu,devices=two":          "an integer from 1 to 1024",
		"xla:cuda,devices=2":           "is for XLA's CPU plugin",
		"xla:/nonexistent/cpu_pjrt.so": "/nonexistent/cpu_pjrt.so, which cannot be read",
		"xla:" + dir:                   "a directory",
	} {
		t.Setenv(EnvVar, config)
		_, err := Choose()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: error %v, want one saying %q", EnvVar, config, err, want)
		}
	}
}

// TestDamagedInstalledPluginIsNotUsed: a plugin in PJRTDir whose size differs from the one `make
// pjrt` recorded is passed over by the default choice (which says why) and refused when asked for.
func TestDamagedInstalledPluginIsNotUsed(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("ADVLAB_CACHE", cache)
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	if err := os.MkdirAll(PJRTDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(PJRTDir(), CPUPluginFile)
	if err := os.WriteFile(plugin, []byte("\x7fELF half a plugin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(PJRTDir(), "SIZE"), []byte("201600336\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, "")
	choice, err := Choose()
	if err != nil || choice.Name != "go" || !strings.Contains(choice.Reason, "damaged") || !strings.Contains(choice.Reason, plugin) {
		t.Errorf("default choice with a damaged plugin: %+v, %v; want the pure-Go backend and a reason naming the damaged file", choice, err)
	}
	t.Setenv(EnvVar, "xla:cpu")
	if _, err := Choose(); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("xla:cpu with a damaged plugin: %v, want an error saying it is damaged", err)
	}
}

// TestInstalledXLACPUPluginRunsAGraph: with the plugin `make pjrt` installs, the default choice is
// XLA on the CPU, it runs a graph, and devices=N gives N host devices.
func TestInstalledXLACPUPluginRunsAGraph(t *testing.T) {
	path, found, note := installedCPUPlugin()
	if !found {
		testenv.MissingPlugin(t, "the XLA CPU plugin is not installed at %s (run `make pjrt`) %s", path, note)
	}
	t.Setenv(EnvVar, "")
	choice, err := Choose()
	if err != nil {
		t.Fatal(err)
	}
	if choice.Name != "xla" || !strings.Contains(choice.Config, path) || choice.Explicit {
		if _, _, cuda := findCUDAPlugin(); !cuda {
			t.Fatalf("default choice with %s installed: %+v, want XLA on that plugin", path, choice)
		}
	}
	for _, devices := range []int{0, 2} {
		config := "xla:cpu"
		if devices > 0 {
			config += ",devices=" + strconv.Itoa(devices)
		}
		t.Setenv(EnvVar, config)
		choice, err := Choose()
		if err != nil {
			t.Fatal(err)
		}
		b, err := createChoice(choice)
		if err != nil {
			t.Fatalf("%s: %v", config, err)
		}
		if devices > 0 && b.NumDevices() != devices {
			t.Errorf("%s: %d devices, want %d", config, b.NumDevices(), devices)
		}
		out := graph.MustExecOnce(b, func(x *graph.Node) *graph.Node {
			return graph.ReduceAllSum(graph.Mul(x, x))
		}, []float32{1, 2, 3})
		if got := out.Value().(float32); got != 14 {
			t.Errorf("%s: sum of squares = %v, want 14", config, got)
		}
		t.Logf("%s: %s, %d device(s)", config, b.Description(), b.NumDevices())
	}
}
