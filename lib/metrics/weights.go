package metrics

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/advlab/advlab/lib/backend"
	"github.com/advlab/advlab/lib/checkpoint"
)

// weightsFS holds the committed evaluator checkpoints (weights/<dataset>.ckpt) and their README.
//
//go:embed weights
var weightsFS embed.FS

// CommittedWeights maps a dataset name to the SHA-256 (hex) of the evaluator checkpoint committed
// for it under weights/ and embedded in the package. LoadEvaluator refuses embedded bytes whose
// hash differs. The README.md next to the checkpoints records how each one was trained.
var CommittedWeights = map[string]string{
	"mnist":   "4124ebe75661591536ce4c09c6adaa265deb1c6994afc36439ac24b22d668f25",
	"fashion": "c073a3923f338ee1f74fa29306aa9e60e93da9807f5604f7499cf372c66fe2bb",
}

// ErrChecksum is wrapped by the errors of LoadEvaluator and LoadEvaluatorFile when evaluator
// weights do not have the expected SHA-256.
var ErrChecksum = errors.New("evaluator weights checksum mismatch")

// CachedWeightsPath is where `advlab train evaluator` writes an evaluator trained on dataset by
// default and where LoadEvaluator looks when no weights are committed for it:
// <advlab cache>/evaluator/<dataset>.ckpt, with its SHA-256 (hex) in <dataset>.ckpt.sha256.
func CachedWeightsPath(dataset string) string {
	return filepath.Join(backend.CacheDir(), "evaluator", dataset+".ckpt")
}

// LoadEvaluator returns the evaluator for dataset ("mnist" or "fashion") on the process's backend
// (backend.New). It uses the weights committed with this package, verified against
// CommittedWeights; when none are committed for dataset it uses CachedWeightsPath(dataset),
// verified against the hash file next to it. It never trains or downloads anything: missing
// weights are an error that says how to train them (`advlab train evaluator -dataset NAME`).
func LoadEvaluator(dataset string) (*Evaluator, error) {
	b, _, err := backend.New()
	if err != nil {
		return nil, err
	}
	if want, found := CommittedWeights[dataset]; found {
		raw, err := weightsFS.ReadFile("weights/" + dataset + ".ckpt")
		if err != nil {
			return nil, fmt.Errorf("metrics: committed evaluator weights for %q: %w", dataset, err)
		}
		return loadEvaluatorBytes(b, "embedded weights/"+dataset+".ckpt", raw, want)
	}
	path := CachedWeightsPath(dataset)
	hash, err := os.ReadFile(path + ".sha256")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("metrics: no evaluator weights for dataset %q: none are committed (committed: %s) and %s "+
			"does not exist; train them with `advlab train evaluator -dataset %s` (a few minutes)",
			dataset, committedList(), path, dataset)
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: reading the evaluator checksum: %w", err)
	}
	return LoadEvaluatorFile(path, strings.TrimSpace(string(hash)))
}

// LoadEvaluatorFile loads evaluator weights saved by (*Evaluator).Save from path onto the process's
// backend. When wantSHA256 is not empty the file's SHA-256 must equal it (hex), else the error
// wraps ErrChecksum.
func LoadEvaluatorFile(path, wantSHA256 string) (*Evaluator, error) {
	b, _, err := backend.New()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return loadEvaluatorBytes(b, path, raw, wantSHA256)
}

// loadEvaluatorBytes verifies raw (the bytes of a checkpoint called name) against wantSHA256, when
// given, and builds the evaluator from it.
func loadEvaluatorBytes(b compute.Backend, name string, raw []byte, wantSHA256 string) (*Evaluator, error) {
	if wantSHA256 != "" {
		if got := SHA256(raw); !strings.EqualFold(got, wantSHA256) {
			return nil, fmt.Errorf("metrics: %s: %w: SHA-256 is %s, expected %s (file damaged or replaced; "+
				"retrain with `advlab train evaluator` or restore the file)", name, ErrChecksum, got, wantSHA256)
		}
	}
	// checkpoint.Load reads a file: hand it a private temporary copy.
	tmp, err := os.CreateTemp("", "advlab-evaluator-*.ckpt")
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	store := model.NewStore()
	var info EvaluatorInfo
	if err := checkpoint.Load(tmp.Name(), store, &info); err != nil {
		return nil, fmt.Errorf("metrics: loading evaluator weights %s: %w", name, err)
	}
	if store.GetVariable(EvaluatorScope+"/fc2/weights") == nil {
		return nil, fmt.Errorf("metrics: %s is a checkpoint but holds no evaluator (no %s/fc2/weights)", name, EvaluatorScope)
	}
	return newEvaluator(b, store, info)
}

// Save writes the evaluator's weights and batch-norm statistics (no optimizer state) with its Info
// to path (an atomic, checksummed lib/checkpoint file) and returns the file's SHA-256 (hex).
func (e *Evaluator) Save(path string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := checkpoint.Save(path, e.store, e.Info); err != nil {
		return "", err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	return SHA256(raw), nil
}

// SHA256 returns the SHA-256 of raw in lower-case hex.
func SHA256(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

func committedList() string {
	if len(CommittedWeights) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(CommittedWeights)), ", ")
}
