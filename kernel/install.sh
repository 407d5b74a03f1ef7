#!/usr/bin/env bash
# Installs the notebook stack advlab needs, one idempotent step at a time:
#
#   kernel/install.sh jupyter      Debian's Jupyter: classic Notebook, nbconvert, nbclient, ipykernel
#   kernel/install.sh jupyterlab   the above, plus JupyterLab 4, Notebook 7, ipywidgets (kernel/lab/*.txt) in the
#                                  project venv build/jupyterlab via pip where the Python package index answers
#                                  (the classic Notebook serves where it does not)
#   kernel/install.sh gonb         GoNB, goimports and gopls at pinned versions, into GOBIN
#   kernel/install.sh kernelspec [--test DIR | --dir DIR]
#                                  registers the GoNB kernel with a PATH/GOEXPERIMENT env of its own;
#                                  --test DIR registers a --raw_error kernel under DIR instead of the
#                                  user's Jupyter data directory (what the notebook harness uses);
#                                  --dir DIR registers the kernel as users get it (HTML errors) under DIR
#   kernel/install.sh browser      Debian's Chromium and the pinned npm playwright-core
#   kernel/install.sh warm         builds the repository and the GoMLX packages notebooks import, so
#                                  the first notebook cell is quick
#   kernel/install.sh onnx         ONNX Runtime's shared library from npm onnxruntime-node
#   kernel/install.sh pjrt [--optional]
#                                  the XLA CPU PJRT plugin from a pinned, hash-checked PyPI wheel
#
# Every step checks first and does nothing when its result is already there. Run as root (CI) or as
# a user with sudo for the Debian packages. Paths come from the environment: GOBIN (default
# $(go env GOPATH)/bin), ADVLAB_CACHE (default ~/.cache/advlab), JUPYTER_DATA_DIR.
set -euo pipefail

GONB_VERSION=v0.11.5
X_TOOLS_VERSION=v0.39.0 # goimports
GOPLS_VERSION=v0.21.0
PLAYWRIGHT_DIR_REL=kernel/harness # package.json + package-lock.json pin playwright-core
ONNXRUNTIME_NODE_VERSION=1.30.0

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf 'install: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# as_root runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

# apt_install installs the Debian packages of its arguments that are not installed yet. It runs
# `apt-get update` first, once an hour at most (the stamp lives under the repository's build/).
# Both wait up to 10 minutes for Debian's package lock when another apt runs, rather than fail.
apt_install() {
	local missing=() pkg
	for pkg in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$pkg")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these by hand: ${missing[*]}"
	local stamp="$REPO_ROOT/build/.apt-updated"
	if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +60 2>/dev/null)" ]; then
		log "apt-get update"
		as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
		mkdir -p "$(dirname "$stamp")" && touch "$stamp"
	fi
	log "apt-get install ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

gobin() {
	local bin
	bin="$(go env GOBIN)"
	[ -n "$bin" ] || bin="$(go env GOPATH)/bin"
	printf '%s\n' "$bin"
}

# module_version prints the version of MODULE that the Go binary BIN was built from ("" if none).
module_version() {
	local bin="$1" module="$2"
	[ -x "$bin" ] || return 0
	go version -m "$bin" 2>/dev/null | awk -v m="$module" '($1 == "mod" || $1 == "dep") && $2 == m { print $3; exit }'
}

# go_install_pinned BINARY MODULE VERSION PACKAGE builds PACKAGE of MODULE@VERSION into GOBIN from
# a scratch module. (`go install pkg@version` can fail here: it asks the proxy for the module's
# version list, which the proxy refuses.)
go_install_pinned() {
	local binary="$1" module="$2" version="$3" package="$4" bin have scratch
	bin="$(gobin)"
	have="$(module_version "$bin/$binary" "$module")"
	if [ "$have" = "$version" ]; then
		log "$binary $version already in $bin"
		return 0
	fi
	log "building $binary from $module@$version (had: ${have:-none})"
	scratch="$(mktemp -d)"
	if ! (
		cd "$scratch"
		export GOFLAGS=-mod=mod GOEXPERIMENT= GOWORK=off
		go mod init advlab.local/tools &&
			go get "$module@$version" &&
			GOBIN="$bin" go install "$package"
	) >"$scratch.log" 2>&1; then
		cat "$scratch.log" >&2
		rm -rf "$scratch" "$scratch.log"
		die "building $binary failed"
	fi
	rm -rf "$scratch" "$scratch.log"
	[ "$(module_version "$bin/$binary" "$module")" = "$version" ] || die "$binary did not install at $version"
}

step_jupyter() {
	# The notebook harness and the browser check run on Debian's Python (/usr/bin/python3); the
	# classic Notebook is also the browser UI where JupyterLab cannot be installed.
	apt_install jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel
}

# JupyterLab, Notebook 7, ipywidgets, nbclient and nbconvert go into the project's own virtual
# environment (build/jupyterlab) at the versions of kernel/lab/requirements.txt,
# everything they pull in pinned by kernel/lab/constraints.txt. The system's Python is never
# touched. The venv remembers the hash of both files, so a changed pin reinstalls.
JUPYTERLAB_VENV="$REPO_ROOT/build/jupyterlab"
LAB_REQUIREMENTS="$REPO_ROOT/kernel/lab/requirements.txt"
LAB_CONSTRAINTS="$REPO_ROOT/kernel/lab/constraints.txt"
# JupyterLab defaults for this venv only (the user's own settings still win): the completer waits
# for gopls, whose first answer in a kernel takes several seconds, instead of dropping it at 1 s.
LAB_OVERRIDES="$REPO_ROOT/kernel/lab/overrides.json"

lab_pins_hash() { cat "$LAB_REQUIREMENTS" "$LAB_CONSTRAINTS" | sha256sum | cut -d' ' -f1; }

# lab_installed reports whether the venv holds exactly the pinned set.
lab_installed() {
	[ -x "$JUPYTERLAB_VENV/bin/jupyter-lab" ] && [ -f "$JUPYTERLAB_VENV/.advlab-pins" ] &&
		[ "$(cat "$JUPYTERLAB_VENV/.advlab-pins")" = "$(lab_pins_hash)" ]
}

lab_overrides() {
	local dest="$JUPYTERLAB_VENV/share/jupyter/lab/settings/overrides.json"
	cmp -s "$LAB_OVERRIDES" "$dest" && return 0
	mkdir -p "$(dirname "$dest")"
	cp "$LAB_OVERRIDES" "$dest.tmp" && mv "$dest.tmp" "$dest"
}

step_jupyterlab() {
	step_jupyter
	[ "${ADVLAB_JUPYTERLAB:-auto}" = no ] && return 0
	if lab_installed; then
		lab_overrides
		return 0
	fi
	# Not packaged by Debian: pip installs it where the Python package index answers. Where it does
	# not (a closed network), the classic Notebook serves the notebooks and the browser check runs
	# on it. A failed try is remembered for an hour (build/jupyterlab.status says why).
	local status="$REPO_ROOT/build/jupyterlab.status"
	if grep -q '^unreachable:' "$status" 2>/dev/null && [ -z "$(find "$status" -mmin +60 2>/dev/null)" ]; then
		return 0
	fi
	mkdir -p "$REPO_ROOT/build"
	log "installing $(grep -v '^#' "$LAB_REQUIREMENTS" | paste -sd' ') into $JUPYTERLAB_VENV"
	local out
	apt_install python3-venv
	if ! out="$(python3 -m venv --clear "$JUPYTERLAB_VENV" 2>&1)"; then
		printf 'failed: python3 -m venv: %s\n' "$(tail -n 1 <<<"$out")" >"$status"
		log "python3 -m venv failed ($(tail -n 1 <<<"$out")); the classic Notebook serves the notebooks"
		return 0
	fi
	if out="$(timeout 900 "$JUPYTERLAB_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
		--retries 1 --timeout 15 -r "$LAB_REQUIREMENTS" -c "$LAB_CONSTRAINTS" 2>&1)" &&
		"$JUPYTERLAB_VENV/bin/jupyter-lab" --version >/dev/null 2>&1; then
		lab_overrides
		lab_pins_hash >"$JUPYTERLAB_VENV/.advlab-pins"
		echo installed >"$status"
		log "JupyterLab $("$JUPYTERLAB_VENV/bin/jupyter-lab" --version) installed in $JUPYTERLAB_VENV"
		return 0
	fi
	# Only a failure to reach the index is "unreachable" (the classic Notebook then stands in, also
	# under CI=true); any other (a bad pin, a build error) is "failed", which the checks refuse.
	local kind=failed
	if grep -qE 'NewConnectionError|ConnectTimeout|ReadTimeout|ProxyError|Name or service not known|Temporary failure in name resolution|Network is unreachable|Connection refused' <<<"$out"; then
		kind=unreachable
	fi
	printf '%s: pip install failed: %s\n' "$kind" "$(grep -v '^\s*$' <<<"$out" | tail -n 1)" >"$status"
	log "JupyterLab could not be installed with pip ($(cut -d' ' -f2- "$status")); the classic Notebook serves the notebooks"
}

step_gonb() {
	command -v go >/dev/null 2>&1 || die "go is not on PATH"
	go_install_pinned gonb github.com/janpfeifer/gonb "$GONB_VERSION" github.com/janpfeifer/gonb
	go_install_pinned goimports golang.org/x/tools "$X_TOOLS_VERSION" golang.org/x/tools/cmd/goimports
	go_install_pinned gopls golang.org/x/tools/gopls "$GOPLS_VERSION" golang.org/x/tools/gopls
}

# kernel_path prints the PATH the kernel runs with: Go's own bin dir and GOBIN first, then the
# caller's PATH (so that npm, git, ... found now are found by the kernel too), without duplicates.
kernel_path() {
	local goroot_bin bin
	goroot_bin="$(go env GOROOT)/bin"
	bin="$(gobin)"
	printf '%s:%s:%s:/usr/local/bin:/usr/bin:/bin' "$goroot_bin" "$bin" "$PATH" |
		tr ':' '\n' | awk 'NF && !seen[$0]++' | paste -sd: -
}

step_kernelspec() {
	local data_dir="" args=()
	case "${1:-}" in
	--test)
		data_dir="${2:?--test needs a directory}"
		args+=(--raw_error)
		;;
	--dir) data_dir="${2:?--dir needs a directory}" ;;
	esac
	local bin gonb_bin
	bin="$(gobin)"
	gonb_bin="$bin/gonb"
	[ -x "$gonb_bin" ] || die "$gonb_bin missing: run kernel/install.sh gonb first"
	if [ -n "$data_dir" ]; then
		mkdir -p "$data_dir"
		data_dir="$(cd "$data_dir" && pwd)"
		export JUPYTER_DATA_DIR="$data_dir"
	fi
	local out
	out="$(PATH="$(kernel_path)" "$gonb_bin" --install "${args[@]}" 2>&1)" || die "gonb --install failed: $out"
	local spec_dir="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels/gonb"
	[ -f "$spec_dir/kernel.json" ] || die "gonb --install wrote no $spec_dir/kernel.json"
	# Give the kernel an environment of its own: Jupyter started from a desktop launcher or a shell
	# without Go on PATH still finds go, goimports and gopls, and builds cells as `make` does.
	KERNEL_PATH="$(kernel_path)" GOEXPERIMENT_VALUE="${GOEXPERIMENT:-}" /usr/bin/python3 - "$spec_dir/kernel.json" <<'EOF'
import json, os, sys
path = sys.argv[1]
with open(path) as f:
    spec = json.load(f)
env = spec.get("env") or {}
env["PATH"] = os.environ["KERNEL_PATH"]
if os.environ["GOEXPERIMENT_VALUE"]:
    env["GOEXPERIMENT"] = os.environ["GOEXPERIMENT_VALUE"]
else:
    env.pop("GOEXPERIMENT", None)
# Cells link without the symbol table and DWARF (-s implies -w): a cell importing advlab links in
# about half the time (a 25 MB binary in 3.0 s, 18 MB in 1.6 s on 2 cores). Panics keep their file
# and line numbers (those come from the pcln table, which stays). A GOFLAGS of the user's wins.
env["GOFLAGS"] = os.environ.get("GOFLAGS") or "-ldflags=-s"
spec["env"] = env
spec["display_name"] = "Go (gonb)"
with open(path, "w") as f:
    json.dump(spec, f, indent=1)
    f.write("\n")
EOF
	log "GoNB kernel registered in $spec_dir (GOEXPERIMENT=${GOEXPERIMENT:-})"
}

step_browser() {
	# Chromium, and a CJK font so the notebooks' Chinese headings render in screenshots.
	apt_install chromium fonts-wqy-zenhei
	command -v npm >/dev/null 2>&1 || apt_install npm
	local dir="$REPO_ROOT/$PLAYWRIGHT_DIR_REL" want have=""
	want="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dependencies"]["playwright-core"])' "$dir/package.json")"
	if [ -f "$dir/node_modules/playwright-core/package.json" ]; then
		have="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$dir/node_modules/playwright-core/package.json")"
	fi
	if [ "$have" = "$want" ]; then
		log "playwright-core $want already in $PLAYWRIGHT_DIR_REL/node_modules"
		return 0
	fi
	log "npm ci in $PLAYWRIGHT_DIR_REL (playwright-core $want; no browser download)"
	(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
}

# Packages a notebook typically imports beyond the repository's own (which `go build ./...` covers).
WARM_PACKAGES=(
	github.com/gomlx/gomlx/core/graph
	github.com/gomlx/gomlx/core/tensors
	github.com/gomlx/gomlx/ml/model
	github.com/gomlx/gomlx/ml/model/initializer
	github.com/gomlx/gomlx/ml/model/checkpoint
	github.com/gomlx/gomlx/ml/train/...
	github.com/gomlx/gomlx/ml/nn
	github.com/gomlx/gomlx/ml/layers
	github.com/gomlx/gomlx/ml/layers/activation
	github.com/gomlx/gomlx/ml/layers/fnn
	github.com/gomlx/gomlx/ml/layers/norm
	github.com/gomlx/gomlx/ml/dataset
	github.com/janpfeifer/gonb/gonbui
	gonum.org/v1/plot
	gonum.org/v1/plot/plotter
	gonum.org/v1/plot/vg/vgimg
	gonum.org/v1/plot/vg/vgsvg
)

step_warm() {
	cd "$REPO_ROOT"
	log "warming the Go build cache (GOEXPERIMENT=${GOEXPERIMENT:-})"
	go build ./... || log "warning: the repository does not build right now; warming what builds"
	# Only the GoMLX packages this module's go.sum covers are built; the rest warm on first use.
	go build "${WARM_PACKAGES[@]}" 2>/dev/null || {
		local pkg
		for pkg in "${WARM_PACKAGES[@]}"; do
			go build -o /dev/null "$pkg" 2>/dev/null || log "skipped $pkg (not buildable from this module)"
		done
	}
}

step_onnx() {
	local cache="${ADVLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/advlab}"
	local dest="$cache/onnxruntime"
	if [ -f "$dest/libonnxruntime.so.1" ] && [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$ONNXRUNTIME_NODE_VERSION" ]; then
		log "ONNX Runtime $ONNXRUNTIME_NODE_VERSION already in $dest"
		onnx_threads_layer "$dest"
		return 0
	fi
	command -v npm >/dev/null 2>&1 || apt_install npm
	local scratch tarball
	scratch="$(mktemp -d)"
	log "npm pack onnxruntime-node@$ONNXRUNTIME_NODE_VERSION"
	tarball="$(cd "$scratch" && npm pack --silent "onnxruntime-node@$ONNXRUNTIME_NODE_VERSION")"
	tar -xzf "$scratch/$tarball" -C "$scratch" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
	mkdir -p "$dest"
	install -m 0644 "$scratch/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$dest/libonnxruntime.so.1"
	ln -sf libonnxruntime.so.1 "$dest/libonnxruntime.so"
	printf '%s\n' "$ONNXRUNTIME_NODE_VERSION" >"$dest/VERSION"
	rm -rf "$scratch"
	log "ONNX Runtime installed in $dest (lib/backend picks it up; GOMLX_BACKEND=onnx:cpu forces it)"
	onnx_threads_layer "$dest"
}

# onnx_threads_layer DEST builds kernel/onnx/ortthreads.c, the layer that sets ONNX Runtime's
# intra-op thread count for compute-onnx (lib/backend.ORTThreadsLibrary), against the ONNX Runtime C
# API header that the pinned compute-onnx module ships.
onnx_threads_layer() {
	local dest="$1" src="$REPO_ROOT/kernel/onnx/ortthreads.c" out="$1/libadvlab_ortthreads.so" inc
	if [ -f "$out" ] && [ "$out" -nt "$src" ]; then
		return 0
	fi
	command -v cc >/dev/null 2>&1 || apt_install gcc
	inc="$(cd "$REPO_ROOT" && go mod download -json github.com/gomlx/compute-onnx | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/internal/ort"
	if [ ! -f "$inc/onnxruntime_c_api.h" ]; then
		echo "install.sh: onnxruntime_c_api.h not found in $inc (from the compute-onnx module go.mod pins)" >&2
		return 1
	fi
	cc -shared -fPIC -O2 -Wall -I "$inc" -o "$out.tmp" "$src" -ldl
	mv "$out.tmp" "$out"
	log "ONNX Runtime thread-count layer built: $out"
}

# The XLA CPU PJRT plugin, from a pinned PyPI wheel (a wheel is a zip; the plugin is the .so inside).
# Chosen among the three wheels PyPI carries (docs/performance.md, "XLA on the CPU"): all load in
# go-xla v0.4.5 and pass the parity tests; this one is the XLA of jaxlib 0.11.2 (PJRT API 0.115),
# the generation of the CUDA plugin go-xla runs on GPUs.
PJRT_CPU_PACKAGE=lammps-jax-pjrt-cpu
PJRT_CPU_VERSION=0.11.2
PJRT_CPU_WHEEL=lammps_jax_pjrt_cpu-0.11.2-py3-none-manylinux_2_27_x86_64.whl
PJRT_CPU_WHEEL_SHA256=1319390d948b39f69f7dade496b7c385149d9ca6097a6b62114da113216d9ad1
PJRT_CPU_MEMBER=lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so
PJRT_CPU_SO_SHA256=ad1309ac822b1b24d51b7f9947c7c9fa9ef5d67f390584cbc3d1fa2428fed9c2

# step_pjrt [--optional] installs the plugin as $ADVLAB_CACHE/pjrt/pjrt_c_api_cpu_plugin.so, where
# lib/backend finds it, with pip's own download (no install: the system's Python packages are not
# touched). The wheel is kept in $ADVLAB_CACHE/pjrt/wheels and checked against the hash above; the
# .so is written beside its final name and renamed only once its own hash is right, so a killed
# install leaves no half plugin. With --optional (make test, make lab) an unreachable package index
# is not an error: it says so once and the pure-Go backend serves. The outcome is recorded in
# build/pjrt.status ("installed", or "unreachable: why"), which the XLA test run reads.
step_pjrt() {
	local optional=0
	[ "${1:-}" = --optional ] && optional=1
	local cache="${ADVLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/advlab}"
	local dest="$cache/pjrt" so="$cache/pjrt/pjrt_c_api_cpu_plugin.so" status="$REPO_ROOT/build/pjrt.status"
	mkdir -p "$REPO_ROOT/build" "$dest/wheels"
	if [ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]; then
		log "XLA CPU plugin: the pinned wheel is for Linux x86-64, not $(uname -s)/$(uname -m); the pure-Go backend serves"
		echo "unreachable: no wheel for $(uname -s)/$(uname -m)" >"$status"
		[ $optional = 1 ] && return 0
		exit 1
	fi
	# Stale pieces of an install that was killed.
	find "$dest" -maxdepth 2 -name '.tmp-*' -mmin +10 -exec rm -rf {} + 2>/dev/null || true
	if [ -f "$so" ] && [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$PJRT_CPU_PACKAGE==$PJRT_CPU_VERSION $PJRT_CPU_SO_SHA256" ]; then
		if [ "$(stat -c %s "$so")" = "$(cat "$dest/SIZE" 2>/dev/null)" ]; then
			log "XLA CPU plugin ($PJRT_CPU_PACKAGE $PJRT_CPU_VERSION) already in $dest"
			echo installed >"$status"
			return 0
		fi
		log "XLA CPU plugin in $dest has the wrong size (damaged?); installing it again"
	fi
	local wheel="$dest/wheels/$PJRT_CPU_WHEEL"
	# An optional try that found the index closed is not repeated for an hour (make stays quick).
	if [ $optional = 1 ] && [ ! -f "$wheel" ] && grep -q '^unreachable:' "$status" 2>/dev/null &&
		[ -z "$(find "$status" -mmin +60 2>/dev/null)" ]; then
		log "XLA CPU plugin not installed ($(sed 's/^unreachable: //' "$status"), tried less than an hour ago); the pure-Go backend serves"
		return 0
	fi
	if [ ! -f "$wheel" ] || [ "$(sha256sum "$wheel" | cut -d' ' -f1)" != "$PJRT_CPU_WHEEL_SHA256" ]; then
		rm -f "$wheel"
		local python=""
		for candidate in python3 /usr/bin/python3; do
			if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -m pip --version >/dev/null 2>&1; then
				python="$candidate"
				break
			fi
		done
		if [ -z "$python" ]; then
			apt_install python3-pip
			python=/usr/bin/python3
		fi
		local tmp="$dest/wheels/.tmp-$$"
		mkdir -p "$tmp"
		log "pip download $PJRT_CPU_PACKAGE==$PJRT_CPU_VERSION (the XLA CPU plugin, about 63 MB)"
		if ! timeout 600 "$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
			--retries 1 --timeout 20 -d "$tmp" "$PJRT_CPU_PACKAGE==$PJRT_CPU_VERSION" >"$tmp.log" 2>&1; then
			local why
			why="$(grep -m1 '^ERROR' "$tmp.log" || tail -n 1 "$tmp.log")"
			rm -rf "$tmp" "$tmp.log"
			echo "unreachable: pip download $PJRT_CPU_PACKAGE==$PJRT_CPU_VERSION failed: $why" >"$status"
			if [ $optional = 1 ]; then
				log "XLA CPU plugin not installed (the package index did not answer: $why); the pure-Go backend serves"
				return 0
			fi
			die "pip download $PJRT_CPU_PACKAGE==$PJRT_CPU_VERSION failed: $why"
		fi
		rm -f "$tmp.log"
		[ -f "$tmp/$PJRT_CPU_WHEEL" ] || { rm -rf "$tmp"; die "pip download gave $(ls "$tmp"), not $PJRT_CPU_WHEEL"; }
		local got
		got="$(sha256sum "$tmp/$PJRT_CPU_WHEEL" | cut -d' ' -f1)"
		if [ "$got" != "$PJRT_CPU_WHEEL_SHA256" ]; then
			rm -rf "$tmp"
			echo "failed: wrong wheel hash" >"$status"
			die "$PJRT_CPU_WHEEL has sha256 $got, but kernel/install.sh pins $PJRT_CPU_WHEEL_SHA256: the download is damaged or not the pinned release; nothing was installed (run make pjrt again; if it persists, the index serves another file)"
		fi
		mv -f "$tmp/$PJRT_CPU_WHEEL" "$wheel"
		rm -rf "$tmp"
	fi
	local part="$dest/.tmp-$$-pjrt_c_api_cpu_plugin.so"
	if ! python3 -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)' "$wheel" "$PJRT_CPU_MEMBER" "$part" 2>"$part.log"; then
		local why
		why="$(tail -n 1 "$part.log")"
		rm -f "$part" "$part.log" "$wheel"
		echo "failed: damaged wheel" >"$status"
		die "$wheel: cannot extract $PJRT_CPU_MEMBER ($why); the wheel was removed, run make pjrt again"
	fi
	rm -f "$part.log"
	local so_sha
	so_sha="$(sha256sum "$part" | cut -d' ' -f1)"
	if [ "$so_sha" != "$PJRT_CPU_SO_SHA256" ]; then
		rm -f "$part"
		echo "failed: wrong plugin hash" >"$status"
		die "$PJRT_CPU_MEMBER from $wheel has sha256 $so_sha, want $PJRT_CPU_SO_SHA256; nothing was installed"
	fi
	chmod 0755 "$part"
	mv -f "$part" "$so"
	stat -c %s "$so" >"$dest/SIZE"
	printf '%s\n' "$PJRT_CPU_PACKAGE==$PJRT_CPU_VERSION $PJRT_CPU_SO_SHA256" >"$dest/VERSION"
	echo installed >"$status"
	log "XLA CPU plugin ($PJRT_CPU_PACKAGE $PJRT_CPU_VERSION) installed as $so (lib/backend chooses it; GOMLX_BACKEND=go forces the pure-Go backend)"
}

[ $# -gt 0 ] || { sed -n '2,23p' "$0"; exit 2; }
step="$1"
shift
case "$step" in
jupyter | jupyterlab | gonb | kernelspec | browser | warm | onnx | pjrt) "step_$step" "$@" ;;
*) die "unknown step $step" ;;
esac
