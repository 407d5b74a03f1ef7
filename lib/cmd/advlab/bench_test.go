package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advlab/advlab/lib/bench"
)

func TestPeerColumns(t *testing.T) {
	dir := t.TempDir()
	// torch installed (its marker is there), tf's install found the index unreachable, jax never ran.
	for _, f := range []string{"torch/bin/python", "torch/.advlab-pins", "tf/bin/python"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "tf.status"), []byte("unreachable: the index did not answer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	columns := peerColumns(dir, "auto", "scripts/bench", []string{"--device", "cpu"})
	var names []string
	for _, c := range columns {
		names = append(names, c.Name)
		if !c.Peer {
			t.Errorf("%s is not marked as a peer", c.Name)
		}
	}
	// The pip PyTorch is there, so Debian's does not get a column.
	if got := strings.Join(names, " "); got != "torch2 torch2-compile tf2 jax" {
		t.Fatalf("columns %q", got)
	}
	if c := columns[1]; c.Unavailable != "" || c.Command != filepath.Join(dir, "torch/bin/python") ||
		strings.Join(c.Args, " ") != "scripts/bench/torch_bench.py --serve --compile --device cpu" {
		t.Errorf("torch2-compile column %+v", c)
	}
	// tf's venv exists but holds no marker: a half install is not used.
	if got := columns[2].Unavailable; got != "not installed: unreachable: the index did not answer" {
		t.Errorf("tf2: %q", got)
	}
	if got := columns[3].Unavailable; !strings.Contains(got, filepath.Join(dir, "jax")) || !strings.Contains(got, "peers.sh") {
		t.Errorf("jax: %q", got)
	}
	// No peers folder: an explicit system Python is the only PyTorch column.
	columns = peerColumns("", "/opt/py/bin/python3", "s", nil)
	if len(columns) != 1 || columns[0].Name != "torch (system)" || columns[0].Command != "/opt/py/bin/python3" {
		t.Errorf("system column %+v", columns)
	}
}

func TestStrictCheck(t *testing.T) {
	report := &bench.Report{
		Columns: []bench.ColumnInfo{{Column: bench.Column{Name: "advlab"}}, {Column: bench.Column{Name: "tf2"}},
			{Column: bench.Column{Name: "jax"}, Error: "not installed: unreachable: x"}},
		Workloads: []bench.WorkloadResult{{Workload: bench.Workload{Name: "dcgan64"}, Columns: []bench.ColumnResult{
			{Column: "advlab"}, {Column: "tf2", Error: "not implemented by this peer (it has dcgan28)"}, {Column: "jax", Error: "not run"}}}},
	}
	if err := strictCheck(report); err != nil {
		t.Errorf("allowed gaps refused: %v", err)
	}
	report.Workloads[0].Columns[0].Error = "bench: the advlab worker exited"
	report.Columns[1].Error = "bench: starting the tf2 worker: no such file"
	err := strictCheck(report)
	if err == nil || !strings.Contains(err.Error(), "2 part(s)") || !strings.Contains(err.Error(), "dcgan64 in advlab") ||
		!strings.Contains(err.Error(), "column tf2") {
		t.Errorf("strict check: %v", err)
	}
}

func TestExpandWorkloadsAndBestPeer(t *testing.T) {
	names, err := expandWorkloads("dcgan28, scaling,dcgan64/ngf=32/batch=16")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 10 || names[0] != "dcgan28" || names[1] != "dcgan64/batch=16" || names[9] != "dcgan64/batch=16/ngf=32" {
		t.Errorf("expandWorkloads = %v", names)
	}
	if all, _ := expandWorkloads("all"); len(all) != len(bench.Workloads()) {
		t.Errorf("all = %v", all)
	}
	if _, err := expandWorkloads("dcgan64/ngf=abc"); err == nil || !strings.Contains(err.Error(), "-workloads") {
		t.Errorf("a bad variant: %v, want an error naming -workloads", err)
	}

	// A report where torch2 was the fastest peer on dcgan64 and tf2 on dcgan28.
	report := bench.Report{Workloads: []bench.WorkloadResult{
		{Workload: bench.Workload{Name: "dcgan28"}, BestPeer: "tf2"},
		{Workload: bench.Workload{Name: "dcgan64"}, BestPeer: "torch2"}}}
	content, err := json.Marshal(report)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	peers := []bench.Column{{Name: "torch2", Peer: true}, {Name: "tf2", Peer: true}, {Name: "jax", Peer: true}}
	kept, err := keepBestPeer(peers, path, bench.ScalingWorkloads())
	if err != nil || len(kept) != 1 || kept[0].Name != "torch2" {
		t.Errorf("best peer of the scaling workloads: %v, %v; want torch2 only", kept, err)
	}
	if kept, err := keepBestPeer(peers, path, []string{"dcgan28", "dcgan64/batch=16"}); err != nil || len(kept) != 2 {
		t.Errorf("best peers of dcgan28 and a dcgan64 variant: %v, %v; want torch2 and tf2", kept, err)
	}
	if _, err := keepBestPeer(peers, path, []string{"vae"}); err == nil || !strings.Contains(err.Error(), "no peer column") {
		t.Errorf("no best peer for vae: %v, want an error", err)
	}
	if _, err := keepBestPeer(peers, filepath.Join(t.TempDir(), "none.json"), nil); err == nil || !strings.Contains(err.Error(), "-best-peer") {
		t.Errorf("a missing report: %v, want an error naming -best-peer", err)
	}
}
