package display

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"time"

	"github.com/advlab/advlab/lib/viz"
	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/widgets"
)

// SliderOptions configures Slider. Zero fields take the documented defaults.
type SliderOptions struct {
	// Label is shown above the slider.
	Label string
	// Wait is how long Slider waits for the notebook's front end to answer the new slider
	// (default 10 s). A headless run (nbconvert, nbclient, the test harness) runs no JavaScript
	// and never answers: Slider then shows Static instead.
	Wait time.Duration
	// Idle ends the live loop after this long without a move (default 15 minutes), so that a
	// forgotten cell does not hold the kernel; "Interrupt kernel" ends it at any time.
	Idle time.Duration
	// Static are the positions drawn side by side when no front end answers (default: min,
	// the middle and max).
	Static []int
}

// Slider shows an integer slider over [min, max] starting at value and, below it, the image that
// render draws for the slider's position, redrawn in place whenever the user moves it. It returns
// when ctx is cancelled (pass InterruptContext's), after opts.Idle without a move, or at once
// when no front end answers within opts.Wait; in that last case it shows render's images for
// opts.Static side by side instead, so a notebook executed headless still shows what the slider
// controls. render runs on Slider's goroutine. Outside a notebook Slider does nothing.
func Slider(ctx context.Context, min, max, value int, render func(position int) (image.Image, error), opts SliderOptions) error {
	if !gonbui.IsNotebook {
		return nil
	}
	if min > max || value < min || value > max {
		return fmt.Errorf("display.Slider: value %d and range [%d, %d], want min <= value <= max", value, min, max)
	}
	if opts.Wait <= 0 {
		opts.Wait = 10 * time.Second
	}
	if opts.Idle <= 0 {
		opts.Idle = 15 * time.Minute
	}
	if len(opts.Static) == 0 {
		opts.Static = []int{min, (min + max) / 2, max}
	}
	if opts.Label != "" {
		HTML("<b>" + html.EscapeString(opts.Label) + "</b>")
	}
	slider := widgets.Slider(min, max, value)
	ready := make(chan struct{})
	go func() {
		slider.Done() // returns once the front end's JavaScript has answered
		close(ready)
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		return nil
	case <-time.After(opts.Wait):
		return sliderStatic(render, opts.Static)
	}

	outputID := "advlab_slider_" + gonbui.UniqueId()
	draw := func(position int) error {
		img, err := render(position)
		if err != nil {
			return err
		}
		data, err := viz.EncodePNG(img)
		if err != nil {
			return err
		}
		gonbui.UpdateHTML(outputID, fmt.Sprintf(`<div>position %d</div>%s`, position, pngTag(data)))
		flush()
		return nil
	}
	if err := draw(value); err != nil {
		return err
	}
	moves := slider.Listen().LatestOnly()
	defer moves.Close()
	idle := time.NewTimer(opts.Idle)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-idle.C:
			Markdown(fmt.Sprintf("*The slider stopped listening after %s without a move; run the cell again to resume.*", opts.Idle))
			return nil
		case position, ok := <-moves.C:
			if !ok {
				return nil
			}
			if err := draw(position); err != nil {
				return err
			}
			idle.Reset(opts.Idle)
		}
	}
}

// sliderStatic shows render's images for the given positions in one row, with their positions.
func sliderStatic(render func(int) (image.Image, error), positions []int) error {
	cells := ""
	for _, p := range positions {
		img, err := render(p)
		if err != nil {
			return err
		}
		data, err := viz.EncodePNG(img)
		if err != nil {
			return err
		}
		cells += fmt.Sprintf(`<td style="text-align:center">%s<br>position %d</td>`, pngTag(data), p)
	}
	HTML(`<div><i>No live front end answered (a headless run): the slider's positions, side by side.</i></div><table><tr>` +
		cells + `</tr></table>`)
	return nil
}

// pngTag is an <img> element holding an encoded PNG as a data URI.
func pngTag(data []byte) string {
	return `<img style="image-rendering:pixelated" src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(data) + `">`
}
