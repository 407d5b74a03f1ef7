// Package viz turns training snapshots into pictures: image grids with the
// semantics of torchvision's make_grid, PNG and animated GIF files, and line
// and bar charts drawn with gonum.org/v1/plot.
//
// The package has no notebook dependency; the notebook display helpers in
// kernel/display and the command line both build on it.
package viz
