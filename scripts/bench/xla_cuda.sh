#!/usr/bin/env bash
# Runs advlab on XLA CUDA on a GPU machine: the PyTorch parity tests of the layers and of the GAN
# training step, the one-device SPMD test and the data-parallel GAN step (gan.Config.Devices), then
# `advlab bench` against PyTorch CUDA in the same run.
#
#   scripts/bench/xla_cuda.sh [BIN_DIR] [OUT_DIR]
#
# BIN_DIR holds advlab and the test binaries nn.test, gan.test, bench.test and backend.test, built
# for linux/amd64 where Go is installed (`make gpu-binaries`); without it, `go test` and `go build`
# run here. OUT_DIR (default build/xla-cuda) receives the logs and bench.json.
#
# The CUDA PJRT plugin is taken from ADVLAB_CUDA_PLUGIN, else from the pip package jax-cuda13-pjrt
# (or jax-cuda12-pjrt) of the python3 on PATH, which must also hold a CUDA build of PyTorch >= 2.0.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-}
out=${2:-build/xla-cuda}
mkdir -p "$out"
py=${PYTHON:-python3}

plugin=${ADVLAB_CUDA_PLUGIN:-}
if [[ -z $plugin ]]; then
	plugin=$("$py" - <<'EOF'
import glob, os, sys
for p in sys.path:
    for name in ("xla_cuda13", "xla_cuda12"):
        for f in glob.glob(os.path.join(p, "jax_plugins", name, "xla_cuda_plugin.so")):
            print(f)
            sys.exit(0)
EOF
)
fi
if [[ -z $plugin || ! -f $plugin ]]; then
	echo "xla_cuda.sh: no CUDA PJRT plugin found: set ADVLAB_CUDA_PLUGIN=/abs/path/xla_cuda_plugin.so" \
		"or install jax-cuda13-pjrt for $py" >&2
	exit 2
fi
# The plugin finds NVIDIA's libraries (cuBLAS, cuDNN, ...) through its RPATH next to the pip
# packages; LD_LIBRARY_PATH is a fallback for installations laid out differently.
site=$(dirname "$(dirname "$(dirname "$plugin")")")
for d in "$site"/nvidia/*/lib "$site"/nvidia/cu1*/lib; do
	[[ -d $d ]] && LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
# go-xla computes float32 products in TF32 on CUDA unless tf32=false: the parity tests and the
# first benchmark use plain float32 on both sides, the second TF32 on both sides.
export GOMLX_BACKEND="xla:$plugin,tf32=false" GOPJRT_CUDA_CHECKS=0
echo "xla_cuda.sh: GOMLX_BACKEND=$GOMLX_BACKEND"
nvidia-smi -L || true
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' || true

status=0
# run_tests PKG PATTERN: one package's tests, from its directory (the fixtures are relative).
run_tests() {
	local pkg=$1 pattern=$2 log="$out/test-$1.log"
	echo "== go test ./lib/$pkg -run '$pattern' on $GOMLX_BACKEND"
	if [[ -n $bin ]]; then
		(cd "lib/$pkg" && timeout "${TEST_TIMEOUT:-240}" "$OLDPWD/$bin/$pkg.test" -test.v -test.run "$pattern" -test.count 1) >"$log" 2>&1
	else
		timeout "${TEST_TIMEOUT:-240}" go test -v -count 1 -run "$pattern" "./lib/$pkg" >"$log" 2>&1
	fi
	local rc=$?
	grep -E '^(=== RUN|--- |ok|FAIL|PASS)|_test.go:[0-9]+:' "$log" | grep -v '^=== RUN' | tail -40
	echo "   exit status $rc (log: $log)"
	[[ $rc == 0 ]] || status=1
}
run_tests backend .
run_tests bench TestDistributedOneDeviceMesh
run_tests nn .
run_tests gan 'TestThreeStepsMatchPyTorch|TestFeatureMatchingGradient|TestGeneratorLearnsTheDataMean|TestResumeIsExact|TestDataParallelStepEqualsOneDevice'

advlab=${bin:+$bin/advlab}
if [[ -z $advlab ]]; then
	advlab=build/xla-cuda/advlab
	go build -o "$advlab" ./lib/cmd/advlab || exit 1
fi
# bench NAME TORCH_FLAG WORKLOADS: one `advlab bench` run into $out/bench-NAME.json.
bench() {
	echo "== advlab bench ($1) on $GOMLX_BACKEND next to PyTorch CUDA"
	timeout "${BENCH_TIMEOUT:-300}" "$advlab" bench -peers "" -python "$py" -torch-device cuda $2 -matmul 8192 \
		-workloads "$3" -rounds "${BENCH_ROUNDS:-2}" -steps "${BENCH_STEPS:-5}" -out "$out/bench-$1.json" \
		${BENCH_FLAGS:-} 2>"$out/bench-$1.log" || { status=1; tail -30 "$out/bench-$1.log"; }
}
bench fp32 "" "${BENCH_WORKLOADS:-dcgan28,dcgan64,vae,vaal}"
GOMLX_BACKEND="xla:$plugin" bench tf32 -torch-tf32 "${BENCH_TF32_WORKLOADS:-dcgan28,dcgan64}"
exit $status
