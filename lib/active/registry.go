package active

import (
	"fmt"
	"slices"
	"strings"
)

// StrategyNames lists every strategy by name, in the order a run of all of them uses.
var StrategyNames = []string{"random", "entropy", "margin", "least-confidence", "svm-active",
	"gaal", "gaal-mixed", "gan-random", "vaal", "aral", "al-gan"}

// linearOnly are the strategies that need a linear (SVM) learner.
var linearOnly = []string{"svm-active", "gaal", "gaal-mixed"}

// synthesising are the strategies whose queries are generated images (they need an oracle that
// labels synthesised images, and a GAN).
var synthesising = []string{"gaal", "gaal-mixed", "gan-random", "al-gan"}

// NeedsLinearLearner reports whether the strategy called name needs a linear learner (the SVM).
func NeedsLinearLearner(name string) bool { return slices.Contains(linearOnly, name) }

// Synthesises reports whether the strategy called name queries generated images.
func Synthesises(name string) bool { return slices.Contains(synthesising, name) }

// Options holds what the strategies need besides the Round: the GAN the synthesising ones share,
// and each method's settings (zero values take their defaults).
type Options struct {
	// GAN is the generator of gaal, gaal-mixed, gan-random and al-gan (trained on first use).
	GAN *GAN
	// Candidates, when > 0, limits the uncertainty strategies and svm-active to that many
	// unlabelled images drawn at random each round.
	Candidates int
	// GAAL configures gaal and gaal-mixed.
	GAAL GAALConfig
	// VAAL configures vaal.
	VAAL VAALConfig
	// ARAL configures aral.
	ARAL ARALConfig
	// ALGAN configures al-gan.
	ALGAN ALGANConfig
}

// NewStrategies returns the strategies called names (see StrategyNames), in that order.
func NewStrategies(names []string, opts Options) ([]Strategy, error) {
	var out []Strategy
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			return nil, fmt.Errorf("active: strategy %q named twice", name)
		}
		seen[name] = true
		if Synthesises(name) && opts.GAN == nil {
			return nil, fmt.Errorf("active: strategy %q needs Options.GAN", name)
		}
		var s Strategy
		switch name {
		case "random":
			s = Random{}
		case "entropy":
			s = Uncertain{Measure: Entropy, Candidates: opts.Candidates}
		case "margin":
			s = Uncertain{Measure: Margin, Candidates: opts.Candidates}
		case "least-confidence":
			s = Uncertain{Measure: LeastConfidence, Candidates: opts.Candidates}
		case "svm-active":
			s = SVMActive{Candidates: opts.Candidates}
		case "gaal":
			s = &GAAL{GAN: opts.GAN, Config: opts.GAAL}
		case "gaal-mixed":
			s = &Mixed{GAAL: &GAAL{GAN: opts.GAN, Config: opts.GAAL}}
		case "gan-random":
			s = &GANRandom{GAN: opts.GAN}
		case "vaal":
			s = &VAAL{Config: opts.VAAL}
		case "aral":
			s = &ARAL{Config: opts.ARAL}
		case "al-gan":
			s = &ALGAN{GAN: opts.GAN, Config: opts.ALGAN}
		default:
			return nil, fmt.Errorf("active: unknown strategy %q; valid: %s", name, strings.Join(StrategyNames, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}
