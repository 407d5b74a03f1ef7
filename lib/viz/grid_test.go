package viz

import (
	"image"
	"strings"
	"testing"
)

// ramp returns n*h*w*c values 0, 1, 2, ... so that every pixel is known.
func ramp(n, h, w, c int) []float32 {
	values := make([]float32, n*h*w*c)
	for i := range values {
		values[i] = float32(i)
	}
	return values
}

func TestGridDimensionsMatchMakeGrid(t *testing.T) {
	cases := []struct {
		n, h, w, perRow, padding int
		wantW, wantH             int
	}{
		// make_grid(torch.zeros(64,1,28,28)).shape == (3, 242, 242)
		{64, 28, 28, 0, 0, 242, 242},
		// make_grid(torch.zeros(10,1,28,28), nrow=4).shape == (3, 92, 122)
		{10, 28, 28, 4, 0, 122, 92},
		// make_grid(torch.zeros(3,1,5,7), nrow=8, padding=1).shape == (3, 7, 25)
		{3, 5, 7, 8, 1, 25, 7},
		// padding=0
		{6, 4, 4, 3, -1, 12, 8},
		// A single image comes back without padding.
		{1, 28, 28, 0, 0, 28, 28},
	}
	for _, tc := range cases {
		grid, err := Grid(make([]float32, tc.n*tc.h*tc.w), tc.n, tc.h, tc.w, 1,
			GridOptions{PerRow: tc.perRow, Padding: tc.padding})
		if err != nil {
			t.Fatalf("n=%d: %v", tc.n, err)
		}
		if got := grid.Bounds().Size(); got != image.Pt(tc.wantW, tc.wantH) {
			t.Errorf("n=%d %dx%d perRow=%d padding=%d: size %v, want %dx%d",
				tc.n, tc.h, tc.w, tc.perRow, tc.padding, got, tc.wantW, tc.wantH)
		}
	}
}

func TestGridRangeMapsKnownPixels(t *testing.T) {
	// Two 2x2 grey images in [-1, 1]; padding 2, side by side.
	images := []float32{
		-1, 0, 0.5, 1,
		-2, 2, -0.5, 0.25,
	}
	grid, err := Grid(images, 2, 2, 2, 1, GridOptions{Range: &[2]float32{-1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	// Width 2*(2+2)+2 = 10, height 2+2+2 = 6.
	if got := grid.Bounds().Size(); got != image.Pt(10, 6) {
		t.Fatalf("size %v, want 10x6", got)
	}
	checks := []struct {
		x, y int
		want uint8
	}{
		{2, 2, 0},   // -1 -> 0
		{3, 2, 128}, // 0 -> 0.5*255+0.5 = 128
		{2, 3, 191}, // 0.5 -> 0.75*255+0.5 = 191.75 -> 191
		{3, 3, 255}, // 1 -> 255
		{6, 2, 0},   // -2 clamped to -1
		{7, 2, 255}, // 2 clamped to 1
		{6, 3, 64},  // -0.5 -> 0.25*255+0.5 = 64.25 -> 64
		{7, 3, 159}, // 0.25 -> 0.625*255+0.5 = 159.875 -> 159
	}
	for _, c := range checks {
		px := grid.RGBAAt(c.x, c.y)
		if px.R != c.want || px.G != c.want || px.B != c.want || px.A != 255 {
			t.Errorf("pixel (%d,%d) = %v, want grey %d", c.x, c.y, px, c.want)
		}
	}
}

func TestGridPadPixelsHoldPadValue(t *testing.T) {
	const n, h, w, padding = 5, 3, 4, 2
	grid, err := Grid(ramp(n, h, w, 3), n, h, w, 3, GridOptions{PerRow: 3, PadValue: 1})
	if err != nil {
		t.Fatal(err)
	}
	columns := 3
	inImage := func(x, y int) bool {
		col, xin := (x-padding)/(w+padding), (x-padding)%(w+padding)
		row, yin := (y-padding)/(h+padding), (y-padding)%(h+padding)
		if x < padding || y < padding || xin >= w || yin >= h {
			return false
		}
		return row*columns+col < n
	}
	padPixels := 0
	for y := range grid.Rect.Dy() {
		for x := range grid.Rect.Dx() {
			if inImage(x, y) {
				continue
			}
			padPixels++
			if px := grid.RGBAAt(x, y); px.R != 255 || px.G != 255 || px.B != 255 {
				t.Fatalf("pad pixel (%d,%d) = %v, want white", x, y, px)
			}
		}
	}
	// Grid 20x12 = 240 pixels, 5 images of 12 pixels inside.
	if want := 20*12 - n*h*w; padPixels != want {
		t.Errorf("%d pad pixels, want %d", padPixels, want)
	}
}

func TestGridMinMaxNormalisation(t *testing.T) {
	// Two 2x3 grey images holding 0..5 and 6..11. Batch normalisation maps
	// 0..11 to 0..255; per-image normalisation maps each image's own range.
	images := ramp(2, 2, 3, 1)
	batch, err := Grid(images, 2, 2, 3, 1, GridOptions{Padding: -1})
	if err != nil {
		t.Fatal(err)
	}
	// Pixel (0,0) of image 1 is value 6: (6-0)/11*255+0.5 = 139.59 -> 139.
	if got := batch.RGBAAt(3, 0).R; got != 139 {
		t.Errorf("batch-normalised pixel = %d, want 139", got)
	}
	perImage, err := Grid(images, 2, 2, 3, 1, GridOptions{Padding: -1, PerImageNormalize: true})
	if err != nil {
		t.Fatal(err)
	}
	// Image 1 spans 6..11: value 6 -> 0, value 11 -> 255, value 8 -> 2/5*255+0.5 = 102.5 -> 102.
	for _, c := range []struct {
		x, y int
		want uint8
	}{{3, 0, 0}, {5, 1, 255}, {5, 0, 102}} {
		if got := perImage.RGBAAt(c.x, c.y).R; got != c.want {
			t.Errorf("per-image pixel (%d,%d) = %d, want %d", c.x, c.y, got, c.want)
		}
	}
}

func TestGridColourChannelsAndScale(t *testing.T) {
	// One 1x2 RGB image: a red and a blue pixel; Scale 3 makes it 6x3.
	images := []float32{1, 0, 0, 0, 0, 1}
	grid, err := Grid(images, 1, 1, 2, 3, GridOptions{Range: &[2]float32{0, 1}, Scale: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := grid.Bounds().Size(); got != image.Pt(6, 3) {
		t.Fatalf("size %v, want 6x3", got)
	}
	if px := grid.RGBAAt(2, 2); px.R != 255 || px.G != 0 || px.B != 0 {
		t.Errorf("pixel (2,2) = %v, want red", px)
	}
	if px := grid.RGBAAt(3, 0); px.R != 0 || px.G != 0 || px.B != 255 {
		t.Errorf("pixel (3,0) = %v, want blue", px)
	}
}

func TestGridUint8KeepsValues(t *testing.T) {
	images := []uint8{0, 17, 200, 255}
	grid, err := GridUint8(images, 2, 1, 2, 1, GridOptions{Padding: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Width 2*(2+1)+1 = 7, height 1+1+1 = 3.
	if got := grid.Bounds().Size(); got != image.Pt(7, 3) {
		t.Fatalf("size %v, want 7x3", got)
	}
	for i, pos := range []image.Point{{1, 1}, {2, 1}, {4, 1}, {5, 1}} {
		if got := grid.RGBAAt(pos.X, pos.Y).R; got != images[i] {
			t.Errorf("pixel %v = %d, want %d", pos, got, images[i])
		}
	}
}

func TestGridRejectsInconsistentSizes(t *testing.T) {
	cases := []struct {
		name                string
		length, n, h, w, ch int
		want                string
	}{
		{"short buffer", 10, 2, 2, 3, 1, "needs 12 values"},
		{"two channels", 16, 2, 2, 2, 2, "1 or 3 channels"},
		{"no images", 0, 0, 2, 2, 1, "positive"},
	}
	for _, tc := range cases {
		_, err := Grid(make([]float32, tc.length), tc.n, tc.h, tc.w, tc.ch, GridOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
