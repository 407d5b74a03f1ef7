package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// The worker protocol: one JSON request per line on the worker's stdin, one JSON response per
// line on its stdout, prefixed by ResponsePrefix (anything else a library prints on stdout is
// passed through to stderr by the client). The Go worker (Serve) and the peers' workers
// (scripts/bench/peer_protocol.py) answer the same requests:
//
//	{"cmd": "info"}                                → {"ok": true, "info": {"backend": ..., ...}}
//	{"cmd": "setup", "workload": "dcgan28"}        → {"ok": true, "seconds": [first step, compile included],
//	                                                  "weights": {"generator": n, ...} (peers)}
//	{"cmd": "steps", "n": 3}                       → {"ok": true, "seconds": [one per step]}
//	{"cmd": "release"}                             → {"ok": true}   (drops the workload's model)
//	{"cmd": "matmul", "size": 2048, "n": 2}        → {"ok": true, "seconds": [...]} (first call compiles)
//	{"cmd": "quit"}                                → (exits)

// ResponsePrefix starts every response line of a worker.
const ResponsePrefix = "advlab-bench "

// Request is one command to a worker.
type Request struct {
	// Cmd is "info", "setup", "steps", "release", "matmul" or "quit".
	Cmd string `json:"cmd"`
	// Workload names the workload of a "setup".
	Workload string `json:"workload,omitempty"`
	// N is the number of steps ("steps") or of timed products ("matmul").
	N int `json:"n,omitempty"`
	// Size is the matrix size of "matmul".
	Size int `json:"size,omitempty"`
}

// Response is a worker's answer to one Request.
type Response struct {
	// OK is false when the request failed; Error then says why.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Seconds holds the wall time of each timed step or product.
	Seconds []float64 `json:"seconds,omitempty"`
	// Info describes the worker (answer to "info").
	Info map[string]string `json:"info,omitempty"`
	// Weights counts the matrix weights of each of the workload's networks (a peer's "setup").
	Weights map[string]int `json:"weights,omitempty"`
}

// Serve runs the Go side of the worker protocol on backend b until "quit" or the end of in.
// description is reported by "info" (e.g. the backend choice and why).
func Serve(in io.Reader, out io.Writer, b compute.Backend, description string) error {
	var (
		step   func() error
		matmul *matmulBench
	)
	scanner := bufio.NewScanner(in)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" {
			continue
		}
		var req Request
		resp := Response{OK: true}
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			resp = Response{Error: fmt.Sprintf("bad request %q: %v", line, err)}
		} else {
			switch req.Cmd {
			case "quit":
				return nil
			case "info":
				resp.Info = map[string]string{"side": "go", "backend": description, "backend_name": b.Name(),
					"backend_description": b.Description(), "go": runtime.Version(),
					"gomaxprocs": fmt.Sprint(runtime.GOMAXPROCS(0))}
			case "setup":
				step = nil
				runtime.GC()
				var w Workload
				var err error
				if w, err = LookupWorkload(req.Workload); err == nil {
					step, err = NewStepper(b, w)
				}
				if err == nil {
					resp.Seconds, err = timeSteps(step, 1)
				}
				if err != nil {
					step, resp = nil, Response{Error: err.Error()}
				}
			case "steps":
				if step == nil {
					resp = Response{Error: "steps before a successful setup"}
					break
				}
				var err error
				if resp.Seconds, err = timeSteps(step, max(req.N, 1)); err != nil {
					resp = Response{Error: err.Error()}
				}
			case "release":
				// Give the workload's memory back to the system: the next workload, or another
				// column's worker, may need it (a batch-256 DCGAN-64 step holds about 10 GB on the
				// pure-Go backend). Two collections let the buffers' finalizers (XLA's, ONNX
				// Runtime's) run in between.
				step = nil
				runtime.GC()
				runtime.GC()
				debug.FreeOSMemory()
			case "matmul":
				var err error
				if matmul == nil || matmul.size != req.Size {
					matmul, err = newMatmulBench(b, req.Size)
				}
				if err == nil {
					resp.Seconds, err = matmul.time(max(req.N, 1))
				}
				if err != nil {
					resp = Response{Error: err.Error()}
				}
			default:
				resp = Response{Error: fmt.Sprintf("unknown command %q", req.Cmd)}
			}
		}
		encoded, err := json.Marshal(resp)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(out, "%s%s\n", ResponsePrefix, encoded); err != nil {
			return err
		}
	}
	return scanner.Err()
}

// timeSteps runs step n times and returns the wall time of each run.
func timeSteps(step func() error, n int) ([]float64, error) {
	seconds := make([]float64, 0, n)
	for range n {
		start := time.Now()
		if err := step(); err != nil {
			return seconds, err
		}
		seconds = append(seconds, time.Since(start).Seconds())
	}
	return seconds, nil
}

// matmulBench times the product of two size×size float32 matrices on a backend.
type matmulBench struct {
	size int
	exec *graph.Exec
	x, y *tensors.Tensor
}

// newMatmulBench compiles the product (by running it once) so that later timings exclude it.
func newMatmulBench(b compute.Backend, size int) (*matmulBench, error) {
	if size <= 0 {
		return nil, fmt.Errorf("matmul size %d, want > 0", size)
	}
	exec, err := graph.NewExec(b, func(x, y *graph.Node) *graph.Node {
		// The sum makes the result a scalar: reading it waits for the product on asynchronous
		// backends and moves 4 bytes, not 16 MB, back to the host. Its n² additions are noise
		// next to the product's 2n³ operations.
		return graph.ReduceAllSum(graph.Dot(x, y).Product())
	})
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	random := func() *tensors.Tensor {
		values := make([]float32, size*size)
		for i := range values {
			values[i] = rng.Float32() - 0.5
		}
		return tensors.FromFlatDataAndDimensions(values, size, size)
	}
	m := &matmulBench{size: size, exec: exec, x: random(), y: random()}
	if _, err := m.time(1); err != nil { // compile
		return nil, err
	}
	return m, nil
}

// time runs the product n times and returns the wall time of each.
func (m *matmulBench) time(n int) ([]float64, error) {
	seconds := make([]float64, 0, n)
	for range n {
		start := time.Now()
		outputs, err := m.exec.Call(m.x, m.y)
		if err != nil {
			return nil, err
		}
		_ = tensors.MustCopyFlatData[float32](outputs[0])
		seconds = append(seconds, time.Since(start).Seconds())
		for _, o := range outputs {
			_ = o.FinalizeAll()
		}
	}
	return seconds, nil
}
