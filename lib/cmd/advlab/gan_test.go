package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advlab/advlab/internal/testenv"
	"github.com/advlab/advlab/lib/data"
)

// TestTrainGANJudgesEachEvaluation: with -eval-every and -until recognisable, every evaluation
// records the Inception Score, KID, precision and recall and the bar's verdict, an untrained MLP
// GAN does not pass it (so the run goes to its last step), and metrics.json carries the final
// judgement beside the real-data floor.
func TestTrainGANJudgesEachEvaluation(t *testing.T) {
	requireMNIST(t, "the judged training run")
	dir := filepath.Join(t.TempDir(), "run")
	if err := runTrain([]string{"gan", "-arch", "mlp", "-steps", "4", "-eval-every", "2", "-eval-samples", "100",
		"-fid-samples", "200", "-until", "recognisable", "-snapshot-every", "0", "-out", dir}); err != nil {
		t.Fatal(err)
	}
	m := readGANMetrics(t, dir)
	if m.Steps != 4 || len(m.Evaluations) != 2 || m.TargetReached != nil {
		t.Fatalf("steps %d, %d evaluations, target %v: want 4 steps, 2 evaluations and no target reached", m.Steps, len(m.Evaluations), m.TargetReached)
	}
	for _, e := range m.Evaluations {
		if e.Samples != 100 || e.InceptionScore < 1 || e.InceptionScore > 10 || e.Precision < 0 || e.Precision > 1 ||
			e.Recall < 0 || e.Recall > 1 || e.KID <= 0 || e.KIDSE <= 0 || e.Recognisable {
			t.Errorf("evaluation at step %d out of range or passing: %+v", e.Step, e)
		}
	}
	if m.Quality == nil || m.Recognisable == nil || *m.Recognisable {
		t.Fatalf("final judgement %v, recognisable %v: want a failing judgement", m.Quality, m.Recognisable)
	}
	g, f := m.Quality.Generated, m.Quality.Floor
	if g.Images != 200 || f.Images != 200 || f.IS < 5 || f.PR.Precision < 0.6 || f.Coverage.ClassesCovered != 10 || g.KID.KID < 10*f.KID.KID {
		t.Errorf("final judgement of noise-like samples against the floor is off: generated %+v, floor %+v", g, f)
	}
}

// TestTrainGANTimeLimit: -time-limit stops a run long before its -steps, once the training time
// has passed the limit, keeps its checkpoint and says so in metrics.json.
func TestTrainGANTimeLimit(t *testing.T) {
	requireMNIST(t, "the time-limited run")
	dir := filepath.Join(t.TempDir(), "run")
	if err := runTrain([]string{"gan", "-arch", "mlp", "-steps", "1000000", "-time-limit", "2s", "-fid-samples", "0",
		"-snapshot-every", "0", "-out", dir}); err != nil {
		t.Fatal(err)
	}
	m := readGANMetrics(t, dir)
	if !m.TimeLimitReached || m.TimeLimit != 2 || m.Seconds < 2 || m.Steps < 1 || m.Steps >= 1000000 {
		t.Fatalf("time limit reached %v (limit %g s) after %d steps in %.2f s: want a stop after 2 s, long before 1,000,000 steps",
			m.TimeLimitReached, m.TimeLimit, m.Steps, m.Seconds)
	}
	if _, err := os.Stat(filepath.Join(dir, "gan.ckpt")); err != nil {
		t.Fatalf("no checkpoint after the time limit: %v", err)
	}
	if err := runTrain([]string{"gan", "-time-limit", "-5s", "-out", dir}); err == nil || !strings.Contains(err.Error(), "-time-limit -5s") {
		t.Fatalf("a negative -time-limit: error %v, want one naming the flag", err)
	}
}

// requireMNIST fails (under CI) or skips the test when MNIST's training or test split is not in
// the data cache; what names the part of the test that needs it.
func requireMNIST(t *testing.T, what string) {
	t.Helper()
	for _, split := range []data.Split{data.Train, data.Test} {
		if _, err := data.LoadWith("mnist", split, data.FetchOptions{Offline: true}); err != nil {
			testenv.Missing(t, "MNIST is not in the data cache, skipping %s: %v", what, err)
		}
	}
}

// readGANMetrics reads the metrics.json `advlab train gan` wrote into dir.
func readGANMetrics(t *testing.T, dir string) ganMetrics {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m ganMetrics
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
