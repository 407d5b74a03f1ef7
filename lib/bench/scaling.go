package bench

import (
	"fmt"
	"slices"

	"github.com/advlab/advlab/lib/viz"
)

// ScalingCharts draws how the median step time of DCGAN-64 grows with the batch (at ngf 64) and
// with the base width ngf = ndf (at batch 64), one curve per column that timed it, on log-log axes
// (a slope of one is linear growth). The report must hold at least two points of each sweep (a run
// of ScalingWorkloads).
func (r *Report) ScalingCharts() ([]*viz.Chart, error) {
	type sweep struct {
		title, xlabel string
		// x returns the workload's abscissa, or 0 when it is not on this sweep.
		x func(Workload) int
	}
	sweeps := []sweep{
		{"DCGAN-64 step time against batch (ngf = ndf = 64)", "batch (images per step)", func(w Workload) int {
			if w.NGF == 64 {
				return w.Batch
			}
			return 0
		}},
		{"DCGAN-64 step time against width (batch 64)", "base width ngf = ndf", func(w Workload) int {
			if w.Batch == 64 {
				return w.NGF
			}
			return 0
		}},
	}
	var charts []*viz.Chart
	for _, s := range sweeps {
		var rows []WorkloadResult
		for _, w := range r.Workloads {
			if w.Workload.BaseName() == "dcgan64" && s.x(w.Workload) > 0 {
				rows = append(rows, w)
			}
		}
		slices.SortFunc(rows, func(a, b WorkloadResult) int { return s.x(a.Workload) - s.x(b.Workload) })
		if len(rows) < 2 {
			return nil, fmt.Errorf("bench: the report has %d point(s) of the sweep %q, want 2 or more (run advlab bench -workloads scaling)",
				len(rows), s.title)
		}
		chart := &viz.Chart{Title: s.title, XLabel: s.xlabel, YLabel: "median step time (s)", LogX: true, LogY: true}
		for i, c := range r.Columns {
			series := viz.Series{Name: c.Name}
			if c.Peer {
				series.Name += " (peer)"
			}
			for _, row := range rows {
				if i < len(row.Columns) && row.Columns[i].Steps != nil {
					series.X = append(series.X, float64(s.x(row.Workload)))
					series.Y = append(series.Y, row.Columns[i].Steps.MedianSeconds)
				}
			}
			if len(series.Y) > 0 {
				chart.Series = append(chart.Series, series)
			}
		}
		if len(chart.Series) == 0 {
			return nil, fmt.Errorf("bench: no column timed the sweep %q", s.title)
		}
		charts = append(charts, chart)
	}
	return charts, nil
}

// SaveScalingPlot writes ScalingCharts side by side as one PNG image at path (replaced atomically).
func (r *Report) SaveScalingPlot(path string) error {
	charts, err := r.ScalingCharts()
	if err != nil {
		return err
	}
	img, err := viz.ChartRow(charts, 640, 440)
	if err != nil {
		return err
	}
	return viz.SavePNG(path, img)
}
