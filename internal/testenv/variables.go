package testenv

import (
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Variables copies the float32 variables of store (weights, optimiser moments, running
// statistics) by path, for tests that compare two trainers' states value by value.
func Variables(store *model.Store) map[string][]float32 {
	out := map[string][]float32{}
	for v := range store.IterVariables() {
		if value, err := v.Value(); err == nil && value.Shape().DType.String() == "Float32" {
			out[v.Path()] = tensors.MustCopyFlatData[float32](value)
		}
	}
	return out
}
