package main

import (
	"fmt"
	"sort"
	"strings"
)

// trainJobs maps the name of a training job (`advlab train NAME ...`) to its entry point, which
// receives the arguments after NAME. Each job's file adds itself in its init.
var trainJobs = map[string]func(args []string) error{}

func init() {
	register("train", "train a model headless: advlab train JOB [flags] (jobs: run `advlab train -h`)", runTrain)
}

// runTrain dispatches `advlab train JOB ...` to the job registered under JOB.
func runTrain(args []string) error {
	if len(args) == 0 {
		return usageError("missing job; usage: advlab train JOB [flags], with JOB one of: %s", trainJobList())
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Printf("usage: advlab train JOB [flags]\n\njobs: %s\n\nRun `advlab train JOB -h` for a job's flags.\n", trainJobList())
		return nil
	}
	job, found := trainJobs[args[0]]
	if !found {
		return usageError("unknown job %q; jobs: %s", args[0], trainJobList())
	}
	return job(args[1:])
}

func trainJobList() string {
	names := make([]string, 0, len(trainJobs))
	for name := range trainJobs {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
