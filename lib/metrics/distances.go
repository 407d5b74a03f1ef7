package metrics

import (
	"runtime"
	"sync"
)

// dotRows calls row(i, dots) for every row i of a ([na, dim] flat), with dots[j] = a_i·b_j for the
// nb rows of b ([nb, dim] flat). Rows are spread over GOMAXPROCS goroutines, so row runs
// concurrently for different i and must only write what belongs to row i; dots is reused after
// row returns.
func dotRows(a []float32, na int, b []float32, nb, dim int, row func(i int, dots []float32)) {
	workers := min(runtime.GOMAXPROCS(0), na)
	var next sync.Mutex
	nextRow := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dots := make([]float32, nb)
			for {
				next.Lock()
				i := nextRow
				nextRow++
				next.Unlock()
				if i >= na {
					return
				}
				x := a[i*dim : (i+1)*dim]
				for j := range nb {
					dots[j] = dot(x, b[j*dim:(j+1)*dim])
				}
				row(i, dots)
			}
		}()
	}
	wg.Wait()
}

// dot returns x·y for two vectors of the same length, four products at a time.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// squaredNorms returns ‖a_i‖² of the n rows of a ([n, dim] flat), in float64.
func squaredNorms(a []float32, n, dim int) []float64 {
	norms := make([]float64, n)
	for i := range n {
		for _, v := range a[i*dim : (i+1)*dim] {
			norms[i] += float64(v) * float64(v)
		}
	}
	return norms
}
