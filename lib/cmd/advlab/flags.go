package main

import (
	"flag"
	"fmt"
	"math"
	"strings"
	"time"
)

// limit is the set of values a numeric flag accepts: a range, and optionally 0 besides it (the
// value many flags use for "the default" or "off"). parseOptions checks every numeric flag of a
// command against its limit before any work starts.
type limit struct {
	flag           string
	lo, hi         float64
	loOpen, hiOpen bool
	zeroOK         bool
	zeroMeans      string // what 0 means, said in the error
}

// atLeast accepts values >= lo; above accepts values > lo; within accepts [lo, hi] with the
// given ends open.
func atLeast(name string, lo float64) limit { return limit{flag: name, lo: lo, hi: math.Inf(1)} }
func above(name string, lo float64) limit {
	return limit{flag: name, lo: lo, hi: math.Inf(1), loOpen: true}
}
func within(name string, lo, hi float64, loOpen, hiOpen bool) limit {
	return limit{flag: name, lo: lo, hi: hi, loOpen: loOpen, hiOpen: hiOpen}
}

// orZero also accepts 0, which means what meaning says ("the architecture's default", "skip").
func (l limit) orZero(meaning string) limit { l.zeroOK, l.zeroMeans = true, meaning; return l }

func (l limit) accepts(v float64) bool {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return false
	case l.zeroOK && v == 0:
		return true
	case v < l.lo || (l.loOpen && v == l.lo):
		return false
	case v > l.hi || (l.hiOpen && v == l.hi):
		return false
	}
	return true
}

// want says in words what l accepts.
func (l limit) want(integer bool) string {
	kind := "a finite number"
	if integer {
		kind = "an integer"
	}
	var r string
	switch {
	case math.IsInf(l.hi, 1) && math.IsInf(l.lo, -1):
		r = kind
	case math.IsInf(l.hi, 1):
		op := ">="
		if l.loOpen {
			op = ">"
		}
		r = fmt.Sprintf("%s %s %g", kind, op, l.lo)
	case math.IsInf(l.lo, -1):
		op := "<="
		if l.hiOpen {
			op = "<"
		}
		r = fmt.Sprintf("%s %s %g", kind, op, l.hi)
	default:
		left, right := "[", "]"
		if l.loOpen {
			left = "("
		}
		if l.hiOpen {
			right = ")"
		}
		r = fmt.Sprintf("%s in %s%g, %g%s", kind, left, l.lo, l.hi, right)
	}
	if l.zeroOK {
		r = "0 (" + l.zeroMeans + ") or " + r
	}
	return r
}

// numericValue returns a flag's value as a number and whether it is an integer flag; ok is false
// for flags that are not numbers. Unsigned flags (seeds) accept every value they parse.
func numericValue(f *flag.Flag) (v float64, integer, unsigned, ok bool) {
	getter, isGetter := f.Value.(flag.Getter)
	if !isGetter {
		return 0, false, false, false
	}
	switch x := getter.Get().(type) {
	case int:
		return float64(x), true, false, true
	case int64:
		return float64(x), true, false, true
	case uint, uint64:
		return 0, true, true, true
	case float64:
		return x, false, false, true
	case time.Duration:
		return x.Seconds(), false, false, true
	}
	return 0, false, false, false
}

// parseHook, when set (by tests), sees every command's flag set before it parses.
var parseHook func(fs *flag.FlagSet)

// parseOptions parses args, which hold flags only, and checks every numeric flag against its limit
// in limits: a value outside it, NaN or an infinity, is a usage error naming the flag, its value
// and what it accepts. A positional argument is an error too (the flag package stops at it, so the
// flags after it would be silently ignored). Every signed numeric flag must have a limit.
func parseOptions(fs *flag.FlagSet, args []string, limits ...limit) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q: %s takes flags only, and the flags after it would not be read "+
			"(write -name value; run it with -h for the flags)", fs.Arg(0), fs.Name())
	}
	return checkLimits(fs, limits)
}

// parseOptionsAndFiles is parseOptions for a command that takes file arguments after its flags:
// an argument after the files that looks like a flag is a usage error (the flag package stops
// at the first file, so it would be read as a file name).
func parseOptionsAndFiles(fs *flag.FlagSet, args []string, limits ...limit) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, a := range fs.Args() {
		if strings.HasPrefix(a, "-") && a != "-" {
			return usageError("flag %s after the files: put the flags first", a)
		}
	}
	return checkLimits(fs, limits)
}

// checkLimits checks every signed numeric flag of fs against its limit (see parseOptions).
func checkLimits(fs *flag.FlagSet, limits []limit) error {
	byName := map[string]limit{}
	for _, l := range limits {
		byName[l.flag] = l
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, integer, unsigned, ok := numericValue(f)
		if !ok || unsigned || err != nil {
			return
		}
		l, found := byName[f.Name]
		if !found {
			err = fmt.Errorf("%s: flag -%s has no accepted range (a bug in advlab)", fs.Name(), f.Name)
			return
		}
		if !l.accepts(v) {
			err = usageError("-%s %s: want %s", f.Name, f.Value.String(), l.want(integer))
		}
	})
	return err
}

// flagSet reports whether the command line set the flag name (rather than leaving its default).
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
