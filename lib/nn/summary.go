package nn

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/gomlx/gomlx/ml/model"
)

// Summary lists the variables under scope (and its sub-scopes), in creation order, with their
// shapes and sizes, followed by the totals of trainable and non-trainable parameters — the
// equivalent of Keras' model.summary() or of counting p.numel() over model.parameters() in PyTorch.
// Variables exist once a graph using them was built (e.g. after the first execution), or after
// they were created or loaded explicitly. Non-trainable variables (BatchNorm's running statistics)
// are marked "(fixed)"; GoMLX's internal variables (names starting with "#") are left out.
// Example output:
//
//	variable                          shape                   params
//	/discriminator/conv1/weights      (Float32)[4, 4, 1, 64]  1024
//	/discriminator/bn2/running_mean (fixed)  (Float32)[128]  128
//	...
//	trainable parameters: 2765568, non-trainable: 1792
func Summary(scope *model.Scope) string {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "variable\tshape\tparams\t")
	trainable, fixed := 0, 0
	for v := range scope.IterVariables() {
		if strings.HasPrefix(v.Name(), "#") {
			continue // GoMLX's internal variables, such as the random-number state #rngState
		}
		size := v.Shape().Size()
		mark := ""
		if v.Trainable {
			trainable += size
		} else {
			fixed += size
			mark = " (fixed)"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%d\t\n", v.Path(), mark, v.Shape(), size)
	}
	_ = tw.Flush()
	fmt.Fprintf(&sb, "trainable parameters: %d, non-trainable: %d\n", trainable, fixed)
	return sb.String()
}
