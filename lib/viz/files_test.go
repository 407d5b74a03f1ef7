package viz

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSavePNGRoundTrip(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.SetRGBA(2, 1, color.RGBA{10, 20, 30, 255})
	path := filepath.Join(t.TempDir(), "grid.png")
	if err := SavePNG(path, img); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	decoded, err := png.Decode(file)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := decoded.At(2, 1).RGBA(); r>>8 != 10 || g>>8 != 20 || b>>8 != 30 {
		t.Errorf("decoded pixel = %d,%d,%d, want 10,20,30", r>>8, g>>8, b>>8)
	}
	// No temporary file is left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only grid.png", len(entries))
	}
}

func TestEncodeGIFFramesAndGrey(t *testing.T) {
	var frames []image.Image
	for i := range 4 {
		values := make([]float32, 4*5*5)
		for j := range values {
			values[j] = float32((i*7 + j) % 11)
		}
		grid, err := Grid(values, 4, 5, 5, 1, GridOptions{PerRow: 2, Range: &[2]float32{0, 10}})
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, grid)
	}
	data, err := EncodeGIF(frames, 250*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	animation, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(animation.Image) != 4 {
		t.Fatalf("%d frames, want 4", len(animation.Image))
	}
	if animation.LoopCount != 0 || animation.Delay[0] != 25 {
		t.Errorf("loop count %d, delay %d; want 0 (forever), 25", animation.LoopCount, animation.Delay[0])
	}
	// Grey frames keep their exact grey levels.
	for i, frame := range animation.Image {
		want := frames[i].(*image.RGBA)
		for y := range want.Rect.Dy() {
			for x := range want.Rect.Dx() {
				r, g, b, _ := frame.At(x, y).RGBA()
				if r != g || g != b || uint8(r>>8) != want.RGBAAt(x, y).R {
					t.Fatalf("frame %d pixel (%d,%d) = %d,%d,%d, want grey %d",
						i, x, y, r>>8, g>>8, b>>8, want.RGBAAt(x, y).R)
				}
			}
		}
	}
}

func TestSaveGIFColour(t *testing.T) {
	red := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < len(red.Pix); i += 4 {
		red.Pix[i], red.Pix[i+3] = 255, 255
	}
	path := filepath.Join(t.TempDir(), "anim.gif")
	if err := SaveGIF(path, []image.Image{red, red}, time.Second); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	animation, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(animation.Image) != 2 || animation.Delay[1] != 100 {
		t.Fatalf("%d frames, delay %v; want 2 frames of 100", len(animation.Image), animation.Delay)
	}
	if r, g, b, _ := animation.Image[0].At(1, 1).RGBA(); r>>8 != 255 || g != 0 || b != 0 {
		t.Errorf("pixel = %d,%d,%d, want pure red", r>>8, g>>8, b>>8)
	}
	if _, err := EncodeGIF(nil, time.Second); err == nil {
		t.Error("EncodeGIF(no frames) succeeded, want an error")
	}
}
