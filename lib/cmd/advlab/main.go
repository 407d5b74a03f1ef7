// Command advlab runs advlab's jobs headless: the same library paths the notebooks use, with files
// and a terminal progress bar in place of inline displays.
//
//	advlab version            print advlab's, Go's and GoMLX's versions
//	advlab backend            say which compute backend runs and why
//	advlab data fetch NAME    download (or find in the cache) and verify a dataset
//	advlab data info NAME     describe a cached dataset
//
// Run `advlab COMMAND -h` for a command's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Version is advlab's version, set at release time.
const Version = "0.1.0-dev"

// command is one subcommand: its one-line summary and its entry point.
type command struct {
	summary string
	run     func(args []string) error
}

// commands maps a subcommand name to its implementation; each job's file adds itself in init.
var commands = map[string]command{}

func register(name, summary string, run func(args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

// errUsage marks an error caused by how the command was called (exit status 2).
var errUsage = errors.New("usage")

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func usage() string {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: advlab COMMAND [flags]\n\ncommands:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", name, commands[name].summary)
	}
	b.WriteString("\nRun `advlab COMMAND -h` for a command's flags.\n")
	return b.String()
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the process exit status.
func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(usage())
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, found := commands[args[0]]
	if !found {
		fmt.Fprintf(os.Stderr, "advlab: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
	err := cmd.run(args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "advlab %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(os.Stderr, "advlab %s: %v\n", args[0], err)
		return 1
	}
}

// newFlags returns a flag set for a subcommand that reports errors instead of exiting.
func newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("advlab "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: advlab %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs, turning a bad flag into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if parseHook != nil {
		parseHook(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
