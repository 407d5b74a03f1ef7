#!/usr/bin/env bash
# Installs what the PyTorch column of `make bench` needs, when missing: Debian's python3-torch and
# libopenblas0-pthread (without it, --no-install-recommends leaves the reference BLAS, about 30x
# slower). A quick no-op once installed. On a system without dpkg it only says what is missing;
# `advlab bench` then reports the PyTorch column as not run.
set -euo pipefail

packages=(python3-torch libopenblas0-pthread)
if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "bench: no dpkg here; install PyTorch and OpenBLAS yourself for the PyTorch column (${packages[*]} on Debian)"
	exit 0
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "bench: need root or sudo to install ${missing[*]}" >&2; exit 1; }
	sudo=sudo
fi
echo "bench: installing ${missing[*]} with apt-get"
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
