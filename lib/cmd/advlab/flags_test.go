package main

import (
	"errors"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// flagSetOf runs a command with a flag it does not define, which fails in parsing, after every
// flag is defined, and returns the flag set the command built.
func flagSetOf(t *testing.T, run func([]string) error, prefix ...string) *flag.FlagSet {
	t.Helper()
	var seen *flag.FlagSet
	quiet := parseHook
	parseHook = func(fs *flag.FlagSet) {
		seen = fs
		if quiet != nil {
			quiet(fs)
		}
	}
	defer func() { parseHook = quiet }()
	_ = run(append(prefix, "-no-such-flag-in-advlab"))
	if seen == nil {
		t.Fatalf("%v: no flag set parsed", prefix)
	}
	return seen
}

// TestEveryNumericFlagIsValidated: for every command that takes numeric flags, each signed numeric
// float flag refuses NaN, +Inf and -Inf and every integer flag a huge negative value, with a usage error that names the flag and
// says what it accepts, before any work starts (no data loaded, no output written); a stray
// positional argument is refused naming it, instead of silently dropping the flags after it.
func TestEveryNumericFlagIsValidated(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	// Parse errors print the command's usage; keep the test's log readable.
	parseHook = func(fs *flag.FlagSet) { fs.SetOutput(io.Discard) }
	defer func() { parseHook = nil }()
	commandsWithFlags := []struct {
		name   string
		run    func([]string) error
		prefix []string
	}{
		{"train gan", runTrain, []string{"gan", "-out", out}},
		{"train vae", runTrain, []string{"vae", "-out", out}},
		{"train ssl", runTrain, []string{"ssl", "-out", out}},
		{"train evaluator", runTrain, []string{"evaluator", "-out", filepath.Join(out, "w.bin")}},
		{"al", commands["al"].run, []string{"-strategy", "random", "-out", out}},
		{"bench", runBench, nil},
	}
	checked := 0
	for _, c := range commandsWithFlags {
		fs := flagSetOf(t, c.run, c.prefix...)
		fs.VisitAll(func(f *flag.Flag) {
			_, integer, unsigned, ok := numericValue(f)
			if !ok || unsigned {
				return
			}
			bad := []string{"NaN", "+Inf", "-Inf"} // and for integers a value below every range
			if integer {
				bad = []string{"-9000000000000000000", "-1e300"}
			}
			if f.Name == "timeout" {
				bad = []string{"-1s", "0s"}
			}
			for _, value := range bad {
				args := append(append([]string{}, c.prefix...), "-"+f.Name, value)
				err := c.run(args)
				if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "-"+f.Name) {
					t.Errorf("advlab %s -%s %s: %v, want a usage error naming -%s", c.name, f.Name, value, err, f.Name)
				}
				checked++
			}
		})
		// Valid values only: no "no accepted range" bug error for any flag of the command.
		err := c.run(append(append([]string{}, c.prefix...), "stray", "-steps", "5"))
		if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `unexpected argument "stray"`) {
			t.Errorf("advlab %s with a stray argument: %v, want a usage error naming it", c.name, err)
		}
	}
	t.Logf("%d bad values refused", checked)
	if checked < 90 {
		t.Errorf("only %d bad values checked: the commands' flags were not found", checked)
	}
}

// TestLimitWords: the accepted range is said as it is checked.
func TestLimitWords(t *testing.T) {
	for _, c := range []struct {
		l       limit
		integer bool
		in, out []float64
		want    string
	}{
		{atLeast("steps", 0), true, []float64{0, 5}, []float64{-1}, "an integer >= 0"},
		{above("lr", 0).orZero("the default"), false, []float64{0, 1e-4, 1e3}, []float64{-1e-4}, "0 (the default) or a finite number > 0"},
		{within("beta1", 0, 1, true, true).orZero("the default"), false, []float64{0, 0.5}, []float64{1, -0.1, 1.5}, "0 (the default) or a finite number in (0, 1)"},
		{within("min-confidence", 0, 1, false, false), false, []float64{0, 1}, []float64{1.01}, "a finite number in [0, 1]"},
	} {
		if got := c.l.want(c.integer); got != c.want {
			t.Errorf("-%s: %q, want %q", c.l.flag, got, c.want)
		}
		for _, v := range c.in {
			if !c.l.accepts(v) {
				t.Errorf("-%s refuses %g", c.l.flag, v)
			}
		}
		for _, v := range c.out {
			if c.l.accepts(v) {
				t.Errorf("-%s accepts %g", c.l.flag, v)
			}
		}
	}
}
