package display

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// quizImages returns n white (real) and n black (fake) 4×3 one-channel images.
func quizImages(n int) (real, fake []float32) {
	real, fake = make([]float32, n*12), make([]float32, n*12)
	for i := range real {
		real[i], fake[i] = 1, -1
	}
	return real, fake
}

func TestRealOrFakeKeyMatchesThePictures(t *testing.T) {
	real, fake := quizImages(8)
	q, err := NewRealOrFake(real, fake, 8, 4, 3, 1, RealOrFakeOptions{Seed: 7, Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Truth) != 16 || len(q.tiles) != 16 {
		t.Fatalf("%d truths and %d pictures, want 16 each", len(q.Truth), len(q.tiles))
	}
	reals := 0
	for i, src := range q.tiles {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 6 || b.Dy() != 8 {
			t.Errorf("picture %d is %d×%d, want 6×8 (3×4 scaled by 2)", i, b.Dx(), b.Dy())
		}
		r, _, _, _ := img.At(1, 1).RGBA()
		if white := r > 0x8000; white != q.Truth[i] {
			t.Errorf("picture %d: white %v, but the key says real %v", i, white, q.Truth[i])
		}
		if q.Truth[i] {
			reals++
		}
	}
	if reals != 8 {
		t.Errorf("%d real pictures, want 8", reals)
	}

	again, _ := NewRealOrFake(real, fake, 8, 4, 3, 1, RealOrFakeOptions{Seed: 7})
	other, _ := NewRealOrFake(real, fake, 8, 4, 3, 1, RealOrFakeOptions{Seed: 8})
	if !slices.Equal(again.Truth, q.Truth) {
		t.Error("the same seed gave another order")
	}
	if slices.Equal(other.Truth, q.Truth) {
		t.Error("seeds 7 and 8 gave the same order")
	}
	unshuffled := append(slices.Repeat([]bool{true}, 8), slices.Repeat([]bool{false}, 8)...)
	if slices.Equal(q.Truth, unshuffled) {
		t.Error("the pictures are not shuffled: all real ones first")
	}
}

func TestRealOrFakeHTML(t *testing.T) {
	real, fake := quizImages(8)
	q, err := NewRealOrFake(real, fake, 8, 4, 3, 1, RealOrFakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	page := q.HTML("quiz1")
	if got := strings.Count(page, `class="advlab-rof-tile"`); got != 16 {
		t.Errorf("%d tiles in the page, want 16", got)
	}
	for _, want := range []string{`id="quiz1"`, `getElementById("quiz1")`, "12 or more right", "8 real, 8 generated",
		`repeat(8,`, "Score</button>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	key := regexp.MustCompile(`var truth=(\[[a-z,]*\])`).FindStringSubmatch(page)
	if key == nil || strings.Count(key[1], "true") != 8 || strings.Count(key[1], "false") != 8 {
		t.Errorf("the page's key %v, want 8 true and 8 false", key)
	}
	if strings.Contains(page, "%!") {
		t.Error("a formatting error in the page")
	}
}

func TestRealOrFakeBadInput(t *testing.T) {
	real, fake := quizImages(4)
	for _, tc := range []struct {
		name       string
		real, fake []float32
		n, c       int
		want       string
	}{
		{"no images", real, fake, 0, 1, "n = 0 images"},
		{"short fake", real, fake[:40], 4, 1, "fake holds 40 values, want at least 48"},
		{"short real", real[:12], fake, 4, 1, "real holds 12 values"},
		{"channels", real, fake, 2, 2, "1 or 3 channels"},
	} {
		_, err := NewRealOrFake(tc.real, tc.fake, tc.n, 4, 3, tc.c, RealOrFakeOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestBinomialTail(t *testing.T) {
	// Exact: P(X ≥ 12) for 16 fair coins is (1820 + 560 + 120 + 16 + 1) / 2^16.
	if got, want := BinomialTail(12, 16), 2517.0/65536; math.Abs(got-want) > 1e-12 {
		t.Errorf("BinomialTail(12, 16) = %v, want %v", got, want)
	}
	if got, want := BinomialTail(11, 16), 6885.0/65536; math.Abs(got-want) > 1e-12 {
		t.Errorf("BinomialTail(11, 16) = %v, want %v", got, want)
	}
	if BinomialTail(0, 16) != 1 || BinomialTail(17, 16) != 0 {
		t.Error("the tail outside 1..n is not 1 and 0")
	}
	for _, tc := range []struct{ n, need int }{{16, 12}, {32, 22}, {4, 5}, {5, 5}} {
		if got := NeededForSignificance(tc.n); got != tc.need {
			t.Errorf("NeededForSignificance(%d) = %d, want %d", tc.n, got, tc.need)
		}
	}
}
