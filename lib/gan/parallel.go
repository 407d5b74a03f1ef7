package gan

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/dtensor"
	"github.com/gomlx/gomlx/ml/model"
)

// dataParallel runs a trainer's step graphs data-parallel over devices 0..n−1 with GoMLX's
// AutoSharding strategy (Config.Devices): the step's inputs (the real batch and z) are split along
// the batch axis over a one-axis device mesh, every variable is replicated (model.Exec.AutoSharding
// makes that the store's default), and XLA's Shardy partitioner inserts the cross-device sums that
// the graph's batch means, gradients and batch-norm statistics need. The graph function is the
// one-device buildStep, unchanged.
type dataParallel struct {
	devices []compute.DeviceNum
	mesh    *distributed.DeviceMesh
	batch   *distributed.ShardingSpec // the first axis split over the mesh, the others replicated
}

// meshAxis names the device mesh's only axis.
const meshAxis = "data"

// newDataParallel checks that backend can run AutoSharding graphs on n devices and prepares them.
// The pure-Go backend and ONNX Runtime cannot (compute v0.1.6 implements no distributed execution
// there); XLA through a PJRT plugin can.
func newDataParallel(backend compute.Backend, n int) (*dataParallel, error) {
	if have := backend.NumDevices(); n > have {
		return nil, fmt.Errorf("gan: Devices = %d, but backend %q has %d device(s)", n, backend.Name(), have)
	}
	// Building a graph is the only way to ask: a backend without distributed execution refuses the
	// first call, before anything is compiled.
	probe := compute.Mesh{Name: meshAxis, AxesSizes: []int{n}, AxesNames: []string{meshAxis}}
	if err := backend.Builder("gan_data_parallel_probe").DistributedAutoSharding(probe); err != nil {
		return nil, fmt.Errorf("gan: Devices = %d: backend %q has no distributed execution (%w). Data-parallel "+
			"training runs on XLA through a PJRT plugin (docs/performance.md, \"Multi-device\"); leave Devices at 0 here",
			n, backend.Name(), err)
	}
	mesh, err := distributed.NewDeviceMesh([]int{n}, []string{meshAxis})
	if err != nil {
		return nil, fmt.Errorf("gan: a mesh of %d devices: %w", n, err)
	}
	batch, err := distributed.BuildSpec(mesh).S(meshAxis).Done()
	if err != nil {
		return nil, fmt.Errorf("gan: the batch sharding over %d devices: %w", n, err)
	}
	p := &dataParallel{mesh: mesh, batch: batch}
	for i := range n {
		p.devices = append(p.devices, compute.DeviceNum(i))
	}
	return p, nil
}

// configure makes exec, a step graph taking (real, z) and returning replicated metrics, run
// data-parallel. Call it before the exec's graph is first built: the variables take the store's
// default sharding (replicated over the mesh) when they are created.
func (p *dataParallel) configure(exec *model.Exec) *model.Exec {
	return exec.AutoSharding(p.mesh).
		WithInputShardingSpecs(p.batch, p.batch).
		WithOutputShardingSpecs(distributed.NewReplicatedShardingSpec(p.mesh)).
		WithDeviceAssignment(p.devices)
}

// call runs a configured exec on whole-batch inputs and returns its outputs (device 0's copy of
// each replicated output). On one device GoMLX takes and returns plain tensors; on several, each
// input is split into one shard per device and each output comes back as one shard per device.
func (p *dataParallel) call(exec *model.Exec, inputs ...*tensors.Tensor) ([]*tensors.Tensor, error) {
	args := make([]any, len(inputs))
	if len(p.devices) == 1 {
		for i, input := range inputs {
			args[i] = input
		}
		return exec.Call(args...)
	}
	for i, input := range inputs {
		sharded, err := dtensor.ShardTensor(p.batch, input)
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
