package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/advlab/advlab/lib/data"
)

func init() {
	register("data", "fetch (download + verify) or describe a dataset: data fetch|info NAME", runData)
}

// dataSubcommands are the actions of `advlab data`.
var dataSubcommands = []string{"fetch", "info"}

// runData runs `advlab data fetch NAME` or `advlab data info NAME`.
func runData(args []string) error {
	if len(args) == 0 || (args[0] != "fetch" && args[0] != "info") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Printf("usage: advlab data {%s} [-dir DIR] [-offline] NAME\n\ndatasets: %s\n",
				strings.Join(dataSubcommands, "|"), strings.Join(data.Names(), ", "))
			return nil
		}
		return usageError("expected a subcommand, one of %s: advlab data {fetch|info} [flags] NAME",
			strings.Join(dataSubcommands, ", "))
	}
	action := args[0]
	fs := newFlags("data "+action, "data "+action+" [-dir DIR] [-offline] NAME  (NAME: "+strings.Join(data.Names(), ", ")+")")
	dir := fs.String("dir", "", "cache root (default $ADVLAB_DATA, else the data directory in advlab's cache: "+data.DefaultDir()+")")
	offline := fs.Bool("offline", false, "never download: use only files already in the cache")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	// Accept flags after NAME too (advlab data fetch mnist -offline).
	rest := fs.Args()
	if len(rest) > 1 {
		if err := parseFlags(fs, rest[1:]); err != nil {
			return err
		}
		if len(fs.Args()) > 0 {
			return usageError("expected one dataset NAME, got %q and %q", rest[0], strings.Join(fs.Args(), " "))
		}
	}
	if len(rest) == 0 {
		return usageError("expected a dataset NAME, one of %s", strings.Join(data.Names(), ", "))
	}
	name := rest[0]
	if !slices.Contains(data.Names(), name) {
		return usageError("unknown dataset %q: expected one of %s", name, strings.Join(data.Names(), ", "))
	}
	opts := data.FetchOptions{Dir: *dir, Offline: *offline, Progress: os.Stderr}
	if action == "fetch" {
		if err := data.Fetch(name, opts); err != nil {
			return err
		}
	}
	info, err := data.Info(name, opts)
	if err != nil {
		return err
	}
	fmt.Print(info)
	return nil
}
