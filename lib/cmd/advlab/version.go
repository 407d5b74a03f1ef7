package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/advlab/advlab/lib/backend"
)

func init() {
	register("version", "print advlab's, Go's and GoMLX's versions", runVersion)
	register("backend", "say which compute backend runs and why", runBackend)
}

func runVersion(args []string) error {
	fs := newFlags("version", "version")
	if err := parseOptions(fs, args); err != nil {
		return err
	}
	gomlx := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/gomlx/gomlx" {
				gomlx = dep.Version
			}
		}
	}
	fmt.Printf("advlab %s (Go %s, GoMLX %s, %s/%s)\n", Version, runtime.Version(), gomlx, runtime.GOOS, runtime.GOARCH)
	return nil
}

func runBackend(args []string) error {
	fs := newFlags("backend", "backend [-check]")
	check := fs.Bool("check", true, "create the backend to prove it works (false: only report the choice)")
	if err := parseOptions(fs, args); err != nil {
		return err
	}
	if !*check {
		choice, err := backend.Choose()
		if err != nil {
			return err
		}
		fmt.Println(choice)
		return nil
	}
	b, choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Println(choice)
	fmt.Println(b.Description())
	return nil
}
