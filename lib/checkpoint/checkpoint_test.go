package checkpoint

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

type runMeta struct {
	Step int    `json:"step"`
	RNG  []byte `json:"rng"`
}

// storeWith returns a store holding a trainable weight of n floats (all equal to fill) and a
// non-trainable counter.
func storeWith(t testing.TB, n int, fill float32) *model.Store {
	store := model.NewStore()
	data := make([]float32, n)
	for i := range data {
		data[i] = fill + float32(i%7)
	}
	if _, err := store.CreateVariable("/net/dense/weights", tensors.FromFlatDataAndDimensions(data, n)); err != nil {
		t.Fatal(err)
	}
	counter, err := store.CreateVariable("/opt/step", tensors.FromValue(int64(41)))
	if err != nil {
		t.Fatal(err)
	}
	counter.SetTrainable(false)
	return store
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.ckpt")
	if err := Save(path, storeWith(t, 10, 1.5), runMeta{Step: 7, RNG: []byte{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	restored := model.NewStore()
	var meta runMeta
	if err := Load(path, restored, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Step != 7 || string(meta.RNG) != "\x01\x02\x03" {
		t.Errorf("meta = %+v, want step 7 and rng 1,2,3", meta)
	}
	weights := restored.GetVariable("/net/dense/weights")
	got := tensors.MustCopyFlatData[float32](weights.MustValue())
	if len(got) != 10 || got[0] != 1.5 || got[6] != 7.5 || got[7] != 1.5 {
		t.Errorf("weights = %v, want 1.5+i%%7", got)
	}
	if !weights.Trainable {
		t.Error("weights restored as non-trainable")
	}
	step := restored.GetVariable("/opt/step")
	if step.Trainable || step.MustValue().Value().(int64) != 41 {
		t.Errorf("step = %v trainable=%v, want 41 non-trainable", step.MustValue(), step.Trainable)
	}
}

func TestLoadRejectsDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.ckpt")
	if err := Save(path, storeWith(t, 100, 0), runMeta{Step: 1}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	cases := map[string][]byte{
		"truncated":  good[:len(good)/2],
		"flipped":    append(append([]byte{}, good[:60]...), append([]byte{good[60] ^ 0xff}, good[61:]...)...),
		"foreign":    append([]byte("PK\x03\x04not-ours"), good[12:]...),
		"empty file": {},
	}
	for name, content := range cases {
		bad := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".ckpt")
		if err := os.WriteFile(bad, content, 0o644); err != nil {
			t.Fatal(err)
		}
		err := Load(bad, model.NewStore(), &runMeta{})
		if err == nil {
			t.Errorf("%s: Load succeeded, want an error", name)
			continue
		}
		if !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if err := Load(path, storeWith(t, 3, 0), nil); err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Errorf("loading into a model with other shapes: err = %v, want a shape-mismatch error", err)
	}
}

// TestKillDuringWrite kills a process that saves checkpoints in a loop and checks that the file
// on disk is always a complete, valid checkpoint (the old one or the new one).
func TestKillDuringWrite(t *testing.T) {
	if os.Getenv("ADVLAB_CHECKPOINT_WRITER") != "" {
		return // Running as the child; see TestHelperWriter.
	}
	path := filepath.Join(t.TempDir(), "run.ckpt")
	for trial := 0; trial < 4; trial++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
		cmd.Env = append(os.Environ(), "ADVLAB_CHECKPOINT_WRITER="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+97*trial) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		var meta runMeta
		if _, err := os.Stat(path); os.IsNotExist(err) {
			continue // Killed before the first save completed: nothing on disk is fine.
		}
		if err := Load(path, model.NewStore(), &meta); err != nil {
			t.Fatalf("trial %d: checkpoint on disk after a kill is unreadable: %v", trial, err)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".run.ckpt.tmp-*"))
	if len(matches) > 4 {
		t.Errorf("%d temporary files left behind, want at most one per kill", len(matches))
	}
}

// TestHelperWriter is the child process of TestKillDuringWrite: it rewrites an 8 MB checkpoint
// forever, bumping the step each time.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv("ADVLAB_CHECKPOINT_WRITER")
	if path == "" {
		t.Skip("helper process for TestKillDuringWrite")
	}
	store := storeWith(t, 2<<20, 0)
	for step := 0; ; step++ {
		if err := Save(path, store, runMeta{Step: step, RNG: []byte(strconv.Itoa(step))}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSaveRefusesNonFiniteWeights: a store holding NaN or an infinity is not saved, the error says
// which variable and where, and the checkpoint already on disk stays as it was.
func TestSaveRefusesNonFiniteWeights(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.ckpt")
	if err := Save(path, storeWith(t, 10, 1), runMeta{Step: 5}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		store := storeWith(t, 10, 1)
		w := store.GetVariable("/net/dense/weights")
		values := tensors.MustCopyFlatData[float32](w.MustValue())
		values[3] = bad
		if err := w.SetValue(tensors.FromFlatDataAndDimensions(values, 10)); err != nil {
			t.Fatal(err)
		}
		err := Save(path, store, runMeta{Step: 6})
		if err == nil || !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), "/net/dense/weights") ||
			!strings.Contains(err.Error(), "index 3") || !strings.Contains(err.Error(), "unchanged") {
			t.Errorf("saving weights holding %v: %v, want an ErrNotFinite error naming the variable and index 3", bad, err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
			t.Errorf("a refused save of %v changed the checkpoint on disk", bad)
		}
	}
	// A non-finite number in the metadata (a diverged step's losses) is refused the same way.
	err := Save(path, storeWith(t, 10, 1), map[string]any{"step": 6, "loss": math.NaN()})
	if err == nil || !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), "metadata holds NaN") {
		t.Errorf("saving NaN metadata: %v, want an ErrNotFinite error saying the metadata holds NaN", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Error("a refused save of NaN metadata changed the checkpoint on disk")
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".run.ckpt.tmp-*"))
	if len(matches) != 0 {
		t.Errorf("refused saves left %v", matches)
	}
}
