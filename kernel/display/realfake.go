package display

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/advlab/advlab/lib/viz"
	"github.com/janpfeifer/gonb/gonbui"
)

// RealOrFakeOptions configures NewRealOrFake. Zero fields take the documented defaults.
type RealOrFakeOptions struct {
	// Seed orders the pictures (default 1); another seed gives another order of the same pictures.
	Seed uint64
	// Range is the pixel range that maps to black and white (default [-1, 1], a tanh generator's).
	Range *[2]float32
	// Scale enlarges each picture by this factor, pixelated (default 3: 84×84 for MNIST).
	Scale int
	// PerRow is the number of pictures in a row (default 8).
	PerRow int
	// Real and Fake name the two kinds in the captions and the score (default "real" and
	// "generated").
	Real, Fake string
}

// RealOrFake is the human evaluation the GAN article lists first (人类评估: compare generated
// samples with real ones): n real and n generated images in one shuffled grid. The reader clicks
// each picture to call it real or generated, then asks for the score: how many were right, for
// each kind, and how likely a blind guess is to do as well (a one-sided binomial test), so that a
// lucky round is not read as a skill. Show puts it in a notebook cell; the scoring runs in the
// page (JavaScript), so it needs a live front end such as JupyterLab; a headless run shows the
// pictures and the instructions only.
type RealOrFake struct {
	// Truth tells, for each picture in grid order, whether it is a real image.
	Truth []bool
	opts  RealOrFakeOptions
	tiles []string // PNG data URIs, in grid order
}

// NewRealOrFake shuffles n real and n generated NHWC images of height h, width w and c channels
// into a quiz. real and fake must hold at least n images each (more are ignored).
func NewRealOrFake(real, fake []float32, n, h, w, c int, opts RealOrFakeOptions) (*RealOrFake, error) {
	if n < 1 {
		return nil, fmt.Errorf("display.NewRealOrFake: n = %d images of each kind, want at least 1", n)
	}
	if h < 1 || w < 1 || (c != 1 && c != 3) {
		return nil, fmt.Errorf("display.NewRealOrFake: image shape %d×%d×%d, want a positive height and width and 1 or 3 channels", h, w, c)
	}
	size := h * w * c
	for _, kind := range []struct {
		name   string
		images []float32
	}{{"real", real}, {"fake", fake}} {
		if len(kind.images) < n*size {
			return nil, fmt.Errorf("display.NewRealOrFake: %s holds %d values, want at least %d (%d images of %d×%d×%d)",
				kind.name, len(kind.images), n*size, n, h, w, c)
		}
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Range == nil {
		opts.Range = &[2]float32{-1, 1}
	}
	if opts.Scale <= 0 {
		opts.Scale = 3
	}
	if opts.PerRow <= 0 {
		opts.PerRow = 8
	}
	if opts.Real == "" {
		opts.Real = "real"
	}
	if opts.Fake == "" {
		opts.Fake = "generated"
	}
	q := &RealOrFake{opts: opts}
	order := rand.New(rand.NewPCG(opts.Seed, 0x5eed_0f_4ea1)).Perm(2 * n)
	for _, k := range order {
		isReal := k < n
		source, i := fake, k-n
		if isReal {
			source, i = real, k
		}
		img, err := viz.Grid(source[i*size:(i+1)*size], 1, h, w, c, viz.GridOptions{Range: opts.Range, Scale: opts.Scale, Padding: -1})
		if err != nil {
			return nil, err
		}
		png, err := viz.EncodePNG(img)
		if err != nil {
			return nil, err
		}
		q.Truth = append(q.Truth, isReal)
		q.tiles = append(q.tiles, "data:image/png;base64,"+base64.StdEncoding.EncodeToString(png))
	}
	return q, nil
}

// Show displays the quiz in the cell's output. Outside a notebook it does nothing.
func (q *RealOrFake) Show() {
	if !gonbui.IsNotebook {
		return
	}
	HTML(q.HTML("advlab_rof_" + gonbui.UniqueId()))
}

// BinomialTail is the probability that a blind guess, right with probability 1/2 on each of n
// pictures, gets at least k of them right.
func BinomialTail(k, n int) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	lg, _ := math.Lgamma(float64(n + 1))
	p := 0.0
	for j := k; j <= n; j++ {
		lj, _ := math.Lgamma(float64(j + 1))
		lr, _ := math.Lgamma(float64(n - j + 1))
		p += math.Exp(lg - lj - lr - float64(n)*math.Ln2)
	}
	return math.Min(p, 1)
}

// NeededForSignificance is the fewest right answers out of n that a blind guess reaches with a
// probability below 0.05, or n+1 where even n of n does not (n < 5).
func NeededForSignificance(n int) int {
	for k := 0; k <= n; k++ {
		if BinomialTail(k, n) < 0.05 {
			return k
		}
	}
	return n + 1
}

// HTML is the quiz as an HTML fragment whose root element has the given id: the instructions, the
// grid, a Score button and the script that scores the guesses.
func (q *RealOrFake) HTML(id string) string {
	total := len(q.Truth)
	need := NeededForSignificance(total)
	var b strings.Builder
	realName, fakeName := html.EscapeString(q.opts.Real), html.EscapeString(q.opts.Fake)
	fmt.Fprintf(&b, `<div id="%s" class="advlab-rof" style="font-family:sans-serif">`, id)
	fmt.Fprintf(&b, `<div><b>Real or %s?</b> %d pictures: %d %s, %d %s, in random order. Click a picture once to call it %s, `+
		`twice for %s, a third time to clear it; then press <i>Score</i>. `, fakeName, total, total/2, realName, total/2, fakeName,
		realName, fakeName)
	if need <= total {
		fmt.Fprintf(&b, `A blind guess gets %d right on average; %d or more right happens by luck less than 5%% of the time.</div>`,
			total/2, need)
	} else {
		fmt.Fprintf(&b, `A blind guess gets %d right on average; with so few pictures even a perfect score can be luck.</div>`, total/2)
	}
	fmt.Fprintf(&b, `<div style="display:grid;grid-template-columns:repeat(%d,max-content);gap:6px;margin:8px 0">`, q.opts.PerRow)
	for i, src := range q.tiles {
		fmt.Fprintf(&b, `<div class="advlab-rof-tile" data-index="%d" style="cursor:pointer;border:3px solid #ccc;padding:2px;text-align:center;user-select:none">`+
			`<img style="image-rendering:pixelated;display:block" src="%s"><div class="advlab-rof-guess" style="font-size:12px">?</div></div>`, i, src)
	}
	b.WriteString(`</div><button class="advlab-rof-button" type="button">Score</button> <span class="advlab-rof-score"></span>`)
	b.WriteString(`<noscript><i>Scoring needs JavaScript: run this cell in JupyterLab or the Notebook.</i></noscript></div>`)
	truth, _ := json.Marshal(q.Truth)
	names, _ := json.Marshal([2]string{q.opts.Real, q.opts.Fake})
	fmt.Fprintf(&b, `<script>(function(){var root=document.getElementById(%q);if(!root)return;`+
		`var truth=%s,names=%s,n=truth.length,guess=[],done=false;`+
		`var tiles=root.querySelectorAll(".advlab-rof-tile"),score=root.querySelector(".advlab-rof-score");`+
		`function lnfact(m){var s=0;for(var i=2;i<=m;i++)s+=Math.log(i);return s;}`+
		`function tail(k){var p=0;for(var j=Math.max(k,0);j<=n;j++)p+=Math.exp(lnfact(n)-lnfact(j)-lnfact(n-j)-n*Math.LN2);return Math.min(p,1);}`+
		`tiles.forEach(function(t,i){guess[i]=null;t.addEventListener("click",function(){if(done)return;`+
		`guess[i]=guess[i]===null?true:(guess[i]?false:null);`+
		`t.querySelector(".advlab-rof-guess").textContent=guess[i]===null?"?":names[guess[i]?0:1];`+
		`t.style.borderColor=guess[i]===null?"#ccc":"#36c";});});`+
		`root.querySelector(".advlab-rof-button").addEventListener("click",function(){if(done)return;`+
		`var open=guess.filter(function(g){return g===null;}).length;`+
		`if(open>0){score.textContent="Mark every picture first: "+open+" of "+n+" are unmarked.";return;}`+
		`done=true;var right=0,realRight=0,fakeRight=0,reals=0;`+
		`tiles.forEach(function(t,i){var ok=guess[i]===truth[i];if(truth[i])reals++;if(ok){right++;if(truth[i])realRight++;else fakeRight++;}`+
		`t.style.borderColor=ok?"#2a2":"#c22";t.classList.add(ok?"advlab-rof-right":"advlab-rof-wrong");t.dataset.truth=names[truth[i]?0:1];`+
		`t.querySelector(".advlab-rof-guess").textContent=names[truth[i]?0:1]+(ok?" \u2713":" \u2717");});`+
		`var p=tail(right);score.dataset.right=right;score.dataset.total=n;score.dataset.p=p.toFixed(4);`+
		`score.textContent="You judged "+right+" of "+n+" correctly ("+Math.round(100*right/n)+"%%): "+realRight+" of "+reals+" "+names[0]+" called "+names[0]+", "+`+
		`fakeRight+" of "+(n-reals)+" "+names[1]+" called "+names[1]+". A blind guess does at least this well with probability "+p.toFixed(3)+`+
		`(p<0.05?": you can tell this generator's pictures from real ones.":": this round does not show that you can tell them apart.");`+
		`this.disabled=true;});})();</script>`, id, truth, names)
	return b.String()
}
