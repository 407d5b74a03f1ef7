package viz

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"time"
)

// EncodePNG returns img encoded as PNG.
func EncodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("viz: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// SavePNG writes img as a PNG file at path. The file is written to a
// temporary file in the same directory and renamed, so that a reader never
// sees a half-written image.
func SavePNG(path string, img image.Image) error {
	data, err := EncodePNG(img)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// EncodeGIF returns an animated GIF that shows frames one after the other,
// each for delay (rounded to hundredths of a second, at least one), and loops
// forever. Frames may differ in size; the animation is as large as the
// largest. When every frame is grey (R = G = B everywhere) the frames use an
// exact 256-level grey palette, so grey images stay grey; otherwise they are
// quantised to the Plan 9 palette with Floyd-Steinberg dithering.
func EncodeGIF(frames []image.Image, delay time.Duration) ([]byte, error) {
	if len(frames) == 0 {
		return nil, fmt.Errorf("viz: a GIF needs at least one frame")
	}
	hundredths := max(int((delay+5*time.Millisecond)/(10*time.Millisecond)), 1)
	framePalette, drawer := color.Palette(palette.Plan9), draw.Drawer(draw.FloydSteinberg)
	if allGrey(frames) {
		framePalette, drawer = greyPalette(), draw.Src
	}

	animation := &gif.GIF{LoopCount: 0}
	for _, frame := range frames {
		bounds := frame.Bounds()
		paletted := image.NewPaletted(image.Rect(0, 0, bounds.Dx(), bounds.Dy()), framePalette)
		drawer.Draw(paletted, paletted.Rect, frame, bounds.Min)
		animation.Image = append(animation.Image, paletted)
		animation.Delay = append(animation.Delay, hundredths)
		animation.Config.Width = max(animation.Config.Width, bounds.Dx())
		animation.Config.Height = max(animation.Config.Height, bounds.Dy())
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, animation); err != nil {
		return nil, fmt.Errorf("viz: encoding GIF: %w", err)
	}
	return buf.Bytes(), nil
}

// SaveGIF writes the animation of EncodeGIF to path, atomically as SavePNG.
func SaveGIF(path string, frames []image.Image, delay time.Duration) error {
	data, err := EncodeGIF(frames, delay)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// greyPalette returns the 256 grey levels.
func greyPalette() color.Palette {
	levels := make(color.Palette, 256)
	for i := range levels {
		levels[i] = color.Gray{Y: uint8(i)}
	}
	return levels
}

// allGrey reports whether every pixel of every frame has R = G = B.
func allGrey(frames []image.Image) bool {
	for _, frame := range frames {
		switch img := frame.(type) {
		case *image.Gray:
			continue
		case *image.RGBA:
			if !rgbaGrey(img) {
				return false
			}
		default:
			if !genericGrey(frame) {
				return false
			}
		}
	}
	return true
}

// rgbaGrey reports whether every pixel of img has R = G = B, reading its
// bytes directly.
func rgbaGrey(img *image.RGBA) bool {
	for y := range img.Rect.Dy() {
		row := img.Pix[y*img.Stride : y*img.Stride+4*img.Rect.Dx()]
		for i := 0; i < len(row); i += 4 {
			if row[i] != row[i+1] || row[i] != row[i+2] {
				return false
			}
		}
	}
	return true
}

// genericGrey reports whether every pixel of img has R = G = B.
func genericGrey(img image.Image) bool {
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r != g || r != b {
				return false
			}
		}
	}
	return true
}

// writeFileAtomic writes data to a temporary file next to path and renames it
// to path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("viz: saving %s: %w", path, err)
	}
	tmpName := tmp.Name()
	_, err = tmp.Write(data)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Chmod(tmpName, 0o644)
	}
	if err == nil {
		err = os.Rename(tmpName, path)
	}
	if err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("viz: saving %s: %w", path, err)
	}
	return nil
}
