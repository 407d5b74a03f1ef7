package main

import (
	"fmt"
	"os"

	"github.com/advlab/advlab/lib/metrics"
)

func init() {
	trainJobs["evaluator"] = trainEvaluator
}

// trainEvaluator is `advlab train evaluator`: it trains the evaluator CNN of lib/metrics on MNIST
// or Fashion-MNIST, reports its test accuracy and saves its weights with their SHA-256.
func trainEvaluator(args []string) error {
	fs := newFlags("train evaluator", "train evaluator [-dataset mnist|fashion] [-epochs N] [-out PATH]")
	dataset := fs.String("dataset", "mnist", "dataset to train on: mnist or fashion")
	epochs := fs.Int("epochs", 3, "passes over the 60000 training images")
	batchSize := fs.Int("batch", 64, "images per Adam step")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate (divided by 10 for the last epoch)")
	seed := fs.Uint64("seed", 1, "seed of the initial weights and the batch order")
	limit := fs.Int("limit", 0, "train on the first N training images only (0: all); a smoke size for CI")
	out := fs.String("out", "", "where to write the weights (default: the advlab cache, where metrics.LoadEvaluator finds them)")
	if err := parseOptions(fs, args, atLeast("epochs", 1), atLeast("batch", 2), above("lr", 0), atLeast("limit", 0)); err != nil {
		return err
	}
	if *dataset != "mnist" && *dataset != "fashion" {
		return usageError("-dataset %q: the evaluator trains on mnist or fashion", *dataset)
	}
	path := *out
	if path == "" {
		path = metrics.CachedWeightsPath(*dataset)
	}

	session, err := startTraining("", "", false, false)
	if err != nil {
		return err
	}
	defer session.stop()
	train, test, err := loadSplits(*dataset, *limit, 0)
	if err != nil {
		return err
	}
	cfg := metrics.TrainConfig{Epochs: *epochs, BatchSize: *batchSize, LearningRate: *lr, Seed: *seed, Progress: os.Stderr}
	eval, err := metrics.TrainEvaluator(session.ctx, session.backend, cfg, train, test)
	if err != nil {
		return err
	}
	sum, err := eval.Save(path)
	if err != nil {
		return err
	}
	if *out == "" {
		if err := os.WriteFile(path+".sha256", []byte(sum+"\n"), 0o644); err != nil {
			return fmt.Errorf("writing the checksum: %w", err)
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Printf("evaluator %s: test accuracy %.4f on %d images; trained in %.1f s (%d epochs, batch %d, seed %d)\n",
		*dataset, eval.Info.TestAccuracy, eval.Info.TestImages, eval.Info.TrainSeconds, *epochs, *batchSize, *seed)
	fmt.Printf("weights: %s (%d bytes), SHA-256 %s\n", path, info.Size(), sum)
	return nil
}
