package backend

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
)

func TestFromEnvGoAddsUnlimitedParallelism(t *testing.T) {
	for config, want := range map[string]string{
		"go":                         "go:parallelism=-1",
		"go:ops_sequential":          "go:parallelism=-1,ops_sequential",
		"go:parallelism=0":           "go:parallelism=0",
		"xla:cuda":                   "xla:cuda",
		"onnx":                       "onnx:cpu",
		"ONNXRUNTIME:cuda":           "onnx:cuda",
		"xla:/opt/pjrt/cuda_plug.so": "xla:/opt/pjrt/cuda_plug.so",
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
