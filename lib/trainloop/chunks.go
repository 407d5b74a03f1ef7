package trainloop

import "fmt"

// SampleChunk is the number of latent vectors a generator decodes per graph execution in
// InChunks: memory stays bounded for large counts, and at most two compiled shapes (full chunks
// and the remainder) serve any count.
const SampleChunk = 256

// InChunks decodes the latent vectors z ([n, latent] flat) with run, SampleChunk vectors at a
// time, and concatenates the outputs. The last chunk is run at its own size rather than padded:
// a generator whose batch norms use the statistics of the batch must not see padding rows.
func InChunks(z []float32, latent int, run func(z []float32, n int) ([]float32, error)) ([]float32, error) {
	if latent <= 0 || len(z) == 0 || len(z)%latent != 0 {
		return nil, fmt.Errorf("got %d latent values, want a positive multiple of the latent size %d", len(z), latent)
	}
	n := len(z) / latent
	if n <= SampleChunk {
		return run(z, n)
	}
	var out []float32
	for start := 0; start < n; start += SampleChunk {
		count := min(SampleChunk, n-start)
		images, err := run(z[start*latent:(start+count)*latent], count)
		if err != nil {
			return nil, err
		}
		out = append(out, images...)
	}
	return out, nil
}
