#!/usr/bin/env bash
# Time to quality (`make bench-quality`): how long each backend trains DCGAN-28 and the MLP GAN on
# MNIST until advlab's quality bar holds (metrics.Recognisable: 10/10 classes, KID within 2x the
# real floor, precision >= 0.7, Inception Score >= 90% of the real), next to PyTorch training the
# same networks with the same loop to the same bar on the same evaluator, one after the other in
# this run. Each run stops at the bar or after QUALITY_TIME_LIMIT seconds of training; sampling
# and judging are not timed.
#
#   scripts/bench/quality.sh OUT_DIR       (advlab built into bin/, MNIST fetched, peers installed)
#
# QUALITY_ARCHS (default "dcgan28 mlp-labml"), QUALITY_TIME_LIMIT (default 300: the goal, 5
# minutes), QUALITY_RUNS (default "go xla torch"), QUALITY_SEED (default 1), QUALITY_EVAL_EVERY
# (default: each network's own, below), QUALITY_EVAL_SAMPLES (default 2000), QUALITY_MAX_STEPS
# (default 1000000: the time limit decides). A run whose tool is missing (no XLA plugin, no
# PyTorch) is reported as not run, with the reason. With QUALITY_STRICT=1 (the smoke check of
# `make test`) a run that fails or judges nothing, or under CI=true PyTorch or the XLA plugin
# missing, exits non-zero. The report is OUT_DIR/quality.json and OUT_DIR/quality.md.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:?usage: scripts/bench/quality.sh OUT_DIR}"
archs="${QUALITY_ARCHS:-dcgan28 mlp-labml}"
limit="${QUALITY_TIME_LIMIT:-300}"
runs="${QUALITY_RUNS:-go xla torch}"
seed="${QUALITY_SEED:-1}"
samples="${QUALITY_EVAL_SAMPLES:-2000}"
max_steps="${QUALITY_MAX_STEPS:-1000000}"
build="$root/build"
threads="$(nproc)"
mkdir -p "$out"

# The recipes: the learning rate and β1 both sides use, and how often to judge (2,000 samples).
declare -A lr=([dcgan28]=2e-4 [mlp-labml]=2.5e-4) every=([dcgan28]=200 [mlp-labml]=500)

torch_python=""
if [ -x "$build/peers/torch/bin/python" ] && grep -qx installed "$build/peers/torch.status" 2>/dev/null; then
	torch_python="$build/peers/torch/bin/python"
elif /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
	torch_python=/usr/bin/python3 # Debian's PyTorch stands in (scripts/bench/deps.sh)
fi

failed=0
for arch in $archs; do
	every_steps="${QUALITY_EVAL_EVERY:-${every[$arch]:-}}"
	[ -n "${lr[$arch]:-}" ] || { echo "quality.sh: unknown arch $arch (known: ${!lr[*]})" >&2; exit 2; }
	for run in $runs; do
		dir="$out/$run-$arch"
		rm -rf "$dir"
		mkdir -p "$dir"
		case $run in
		go | xla)
			backend=go
			if [ "$run" = xla ]; then
				if ! grep -qx installed "$build/pjrt.status" 2>/dev/null; then
					echo "not run: the XLA CPU plugin is not installed ($(cat "$build/pjrt.status" 2>/dev/null || echo 'run make pjrt'))" >"$dir/not-run"
					if [ "${CI:-}" = true ] && ! grep -q '^unreachable:' "$build/pjrt.status" 2>/dev/null; then failed=1; fi
					continue
				fi
				backend=xla:cpu
			fi
			echo "bench-quality: advlab on $backend, $arch, until the bar or ${limit} s of training" >&2
			GOMLX_BACKEND=$backend "$root/bin/advlab" train gan -arch "$arch" -lr "${lr[$arch]}" -beta1 0.5 -seed "$seed" \
				-steps "$max_steps" -time-limit "${limit}s" -eval-every "$every_steps" -eval-samples "$samples" -until recognisable \
				-fid-samples 0 -snapshot-every 0 -checkpoint-every 0 -out "$dir" 2> >(tee "$dir/log" | grep --line-buffered -E '^step [0-9]+ \(|time-limit|^backend' >&2) ||
				{ echo "failed: advlab train gan exited $? (see $dir/log)" >"$dir/not-run"; failed=1; }
			;;
		torch)
			if [ -z "$torch_python" ]; then
				echo "not run: no PyTorch (make deps-peers)" >"$dir/not-run"
				if [ "${CI:-}" = true ]; then failed=1; fi
				continue
			fi
			echo "bench-quality: PyTorch, $arch, until the bar or ${limit} s of training" >&2
			OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=1 GOMLX_BACKEND=go "$torch_python" "$root/scripts/bench/torch_quality.py" \
				--arch "$arch" --lr "${lr[$arch]}" --beta1 0.5 --seed "$seed" --time-limit "$limit" \
				--eval-every "$every_steps" --eval-samples "$samples" --max-steps "$max_steps" --advlab "$root/bin/advlab" --out "$dir" 2> >(tee "$dir/log" >&2) ||
				{ echo "failed: torch_quality.py exited $? (see $dir/log)" >"$dir/not-run"; failed=1; }
			;;
		*) echo "quality.sh: unknown run $run (known: go xla torch)" >&2; exit 2 ;;
		esac
	done
done
python3 "$root/scripts/bench/quality_report.py" "$out" "$limit" $archs -- $runs || exit 1
if [ "${QUALITY_STRICT:-}" = 1 ] && [ "$failed" = 1 ]; then
	echo "quality.sh: a run failed or could not start (above)" >&2
	exit 1
fi
