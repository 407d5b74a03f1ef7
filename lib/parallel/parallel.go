// Package parallel runs the training step graphs of advlab's engines (lib/gan, lib/vae, lib/ssl)
// data-parallel over devices 0..n−1 with GoMLX's AutoSharding strategy: the step's batch inputs
// are split along their first axis over a one-axis device mesh, its other inputs (a scalar
// schedule value, say) and every variable are replicated (model.Exec.AutoSharding makes that the
// store's default), and XLA's Shardy partitioner inserts the cross-device sums that the graph's
// batch means, gradients and batch-norm statistics need. The graph function is the engine's
// one-device step, unchanged, so a step computes the one-device step on the whole batch up to
// summation order.
//
// It needs a backend with distributed execution: XLA through a PJRT plugin (on one CPU, the
// plugin's host devices: GOMLX_BACKEND=xla:cpu,devices=N). The pure-Go backend and ONNX Runtime
// have none in compute v0.1.6, and New says so.
package parallel

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/dtensor"
	"github.com/gomlx/gomlx/ml/model"
)

// Input says how a step input is laid out over the devices.
type Input int

const (
	// Batch inputs are split along their first axis, one equal share per device.
	Batch Input = iota
	// Replicated inputs are given whole to every device.
	Replicated
)

// DataParallel holds the devices and the mesh of a data-parallel trainer.
type DataParallel struct {
	devices    []compute.DeviceNum
	mesh       *distributed.DeviceMesh
	batch      *distributed.ShardingSpec // the first axis split over the mesh, the others replicated
	replicated *distributed.ShardingSpec
	inputs     map[*model.Exec][]Input // each configured exec's input layout
}

// meshAxis names the device mesh's only axis.
const meshAxis = "data"

// New checks that backend can run AutoSharding graphs on n devices and prepares them. engine
// ("gan", "vae", "ssl") prefixes the errors, which name Devices as the engines' configurations do.
func New(backend compute.Backend, n int, engine string) (*DataParallel, error) {
	if have := backend.NumDevices(); n > have {
		return nil, fmt.Errorf("%s: Devices = %d, but backend %q has %d device(s)", engine, n, backend.Name(), have)
	}
	// Building a graph is the only way to ask: a backend without distributed execution refuses the
	// first call, before anything is compiled.
	probe := compute.Mesh{Name: meshAxis, AxesSizes: []int{n}, AxesNames: []string{meshAxis}}
	if err := backend.Builder(engine + "_data_parallel_probe").DistributedAutoSharding(probe); err != nil {
		return nil, fmt.Errorf("%s: Devices = %d: backend %q has no distributed execution (%w). Data-parallel "+
			"training runs on XLA through a PJRT plugin (GOMLX_BACKEND=xla:cpu,devices=N on one CPU; "+
			"docs/performance.md, \"Multi-device\"); leave Devices at 0 here", engine, n, backend.Name(), err)
	}
	mesh, err := distributed.NewDeviceMesh([]int{n}, []string{meshAxis})
	if err != nil {
		return nil, fmt.Errorf("%s: a mesh of %d devices: %w", engine, n, err)
	}
	batch, err := distributed.BuildSpec(mesh).S(meshAxis).Done()
	if err != nil {
		return nil, fmt.Errorf("%s: the batch sharding over %d devices: %w", engine, n, err)
	}
	p := &DataParallel{mesh: mesh, batch: batch, replicated: distributed.NewReplicatedShardingSpec(mesh),
		inputs: map[*model.Exec][]Input{}}
	for i := range n {
		p.devices = append(p.devices, compute.DeviceNum(i))
	}
	return p, nil
}

// Devices is the number of devices the step graphs run on.
func (p *DataParallel) Devices() int { return len(p.devices) }

// Configure makes exec, a step graph whose inputs are laid out as inputs says and whose outputs
// are replicated (metrics), run data-parallel. Call it before the exec's graph is first built: the
// variables take the store's default sharding (replicated over the mesh) when they are created.
func (p *DataParallel) Configure(exec *model.Exec, inputs ...Input) *model.Exec {
	specs := make([]*distributed.ShardingSpec, len(inputs))
	for i, input := range inputs {
		specs[i] = p.spec(input)
	}
	p.inputs[exec] = inputs
	return exec.AutoSharding(p.mesh).
		WithInputShardingSpecs(specs...).
		WithOutputShardingSpecs(p.replicated).
		WithDeviceAssignment(p.devices)
}

func (p *DataParallel) spec(input Input) *distributed.ShardingSpec {
	if input == Replicated {
		return p.replicated
	}
	return p.batch
}

// Call runs a configured exec on whole-batch inputs and returns its outputs (device 0's copy of
// each replicated output). On one device GoMLX takes and returns plain tensors; on several, each
// input is split (or copied) into one shard per device and each output comes back as one shard per
// device.
func (p *DataParallel) Call(exec *model.Exec, inputs ...*tensors.Tensor) ([]*tensors.Tensor, error) {
	layout, configured := p.inputs[exec]
	if !configured || len(layout) != len(inputs) {
		return nil, fmt.Errorf("parallel: the step was configured with %d inputs, called with %d", len(layout), len(inputs))
	}
	args := make([]any, len(inputs))
	if len(p.devices) == 1 {
		for i, input := range inputs {
			args[i] = input
		}
		return exec.Call(args...)
	}
	for i, input := range inputs {
		sharded, err := dtensor.ShardTensor(p.spec(layout[i]), input)
		if err != nil {
			return nil, fmt.Errorf("splitting input %d %s over %d devices: %w", i, input.Shape(), len(p.devices), err)
		}
		args[i] = sharded
	}
	outputs, err := exec.DistributedExec(args...)
	if err != nil {
		return nil, err
	}
	results := make([]*tensors.Tensor, len(outputs))
	for i, output := range outputs {
		if results[i], err = output.Shards()[0].LocalClone(); err != nil {
			return nil, err
		}
		if err = output.Finalize(); err != nil {
			return nil, err
		}
	}
	return results, nil
}
