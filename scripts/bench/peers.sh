#!/usr/bin/env bash
# Installs the peers of `make bench`, each into its own virtual environment under build/peers
# (never the system's Python), every package pinned by scripts/bench/peers/NAME.txt:
#   torch  PyTorch 2 (eager and torch.compile columns)
#   tf     TensorFlow 2 (CPU build) with Keras 3
#   jax    JAX, Flax and Optax
# A venv holding exactly the pinned set (its .advlab-pins marker matches the file's hash) is
# skipped at once; a changed pin reinstalls. A venv is only marked once its install and an import
# check have succeeded, so a killed install is redone, never used half-made. Each peer's outcome
# is in build/peers/NAME.status ("installed", "unreachable: ...", "failed: ..."), which the
# benchmark's report shows for a peer it cannot run. Where the torch peer could not be had,
# Debian's PyTorch (scripts/bench/deps.sh) stands in as the "torch (system)" column.
#
#   scripts/bench/peers.sh [NAME ...]     (default: torch tf jax; PEERS_DIR overrides build/peers)
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${PEERS_DIR:-$root/build/peers}"
mkdir -p "$dir"
declare -A import_check=(
	[torch]='import torch; torch.ones(2).sum().item()'
	[tf]='import tensorflow as tf; tf.ones(2).numpy()'
	[jax]='import jax, flax, optax; jax.numpy.ones(2).sum().block_until_ready()'
)

install_peer() {
	local peer=$1 req="$root/scripts/bench/peers/$1.txt" venv="$dir/$1" status="$dir/$1.status"
	[ -f "$req" ] || { echo "peers.sh: no peer named $peer (known: ${!import_check[*]})" >&2; return 2; }
	local hash
	hash="$(sha256sum <"$req" | cut -d' ' -f1)"
	if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.advlab-pins" 2>/dev/null)" = "$hash" ]; then
		return 0
	fi
	echo "bench: installing the $peer peer ($(grep -iE '^(torch|tensorflow_cpu|keras|jax|flax|optax)==' "$req" | paste -sd' ')) into $venv"
	rm -rf "$venv"
	local out
	if ! out="$(python3 -m venv "$venv" 2>&1)"; then
		printf 'failed: python3 -m venv: %s\n' "$(tail -n 1 <<<"$out")" >"$status"
	elif out="$(timeout 1800 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
		--only-binary=:all: --retries 1 --timeout 30 -r "$req" 2>&1)" &&
		out="$(OMP_NUM_THREADS=1 TF_CPP_MIN_LOG_LEVEL=3 "$venv/bin/python" -c "${import_check[$peer]}" 2>&1)"; then
		echo "$hash" >"$venv/.advlab-pins"
		echo installed >"$status"
		return 0
	elif grep -qE 'NewConnectionError|ConnectTimeout|ReadTimeout|ProxyError|Name or service not known|Temporary failure in name resolution|Network is unreachable|Connection refused' <<<"$out"; then
		printf 'unreachable: the Python package index did not answer (%s)\n' "$(grep -m1 -oE 'NewConnectionError|ConnectTimeout|ReadTimeout|ProxyError|Name or service not known|Temporary failure in name resolution|Network is unreachable|Connection refused' <<<"$out")" >"$status"
	else
		printf 'failed: %s\n' "$(grep -v '^\s*$' <<<"$out" | tail -n 1)" >"$status"
	fi
	rm -rf "$venv"
	echo "bench: the $peer peer is not installed: $(cat "$status")"
	return 1
}

peers=("$@")
[ ${#peers[@]} -eq 0 ] && peers=(torch tf jax)
torch_ok=1
for peer in "${peers[@]}"; do
	if ! install_peer "$peer"; then
		[ "$peer" = torch ] && torch_ok=0
	fi
done
# Without the pip PyTorch, the system's (Debian's python3-torch) keeps a PyTorch column.
if [ $torch_ok = 0 ]; then
	"$root/scripts/bench/deps.sh"
fi
exit 0
