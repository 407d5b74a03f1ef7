//go:build !goexperiment.simd

package backend

const simdBuild = false
