#!/usr/bin/env bash
# The live JupyterLab check: serves copies of the notebooks with JupyterLab 4 (build/jupyterlab) on
# 127.0.0.1 with a token, and drives it from headless Chromium as a person would (lab_check.mjs).
#
#   kernel/harness/lab_check.sh OUT_DIR NOTEBOOK...
#
# The notebooks are copied into OUT_DIR/work, and JupyterLab serves that folder: what the cells
# write (runs/, checkpoints) and JupyterLab's autosaves land there, never in notebooks/. The kernel
# is the GoNB kernelspec as users get it (HTML error reports), registered here under OUT_DIR/jupyter;
# JupyterLab's settings and workspaces live under OUT_DIR too, so the user's own are not touched.
# Screenshots go to OUT_DIR/screenshots, the measured latencies to OUT_DIR/latency.json. The server
# is stopped by its PID when the check ends, however it ends.
set -euo pipefail

out="${1:?usage: lab_check.sh OUT_DIR NOTEBOOK...}"
shift
[ $# -gt 0 ] || { echo "lab check: no notebooks given" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lab="$root/build/jupyterlab/bin/jupyter-lab"
[ -x "$lab" ] || { echo "lab check: $lab missing (make deps-jupyterlab installs JupyterLab)" >&2; exit 1; }

mkdir -p "$out"
out="$(cd "$out" && pwd)"
# One check at a time per folder: a second would remove the first one's served copies.
exec 9>"$out/.lock"
flock -n 9 || { echo "lab check: another lab check is running in $out; wait for it or give another OUT_DIR" >&2; exit 1; }
work="$out/work"
rm -rf "$work" "$out/screenshots" "$out/settings" "$out/workspaces"
mkdir -p "$work" "$out/screenshots" "$out/settings/@jupyterlab/notebook-extension" \
	"$out/settings/@jupyterlab/apputils-extension" "$out/workspaces" "$out/config"
for notebook in "$@"; do
	[ -f "$notebook" ] || { echo "lab check: $notebook not found" >&2; exit 1; }
	cp "$notebook" "$work/"
done
# Every cell stays in the page (JupyterLab 4 otherwise renders only the cells on screen).
printf '{"windowingMode": "none"}\n' >"$out/settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings"
# No news prompt over the outputs (and no request for news from outside).
printf '{"fetchNews": "false", "checkForUpdates": false}\n' >"$out/settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"

"$root/kernel/install.sh" kernelspec --dir "$out/jupyter" >/dev/null

port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
log="$out/jupyterlab.log"
root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(--allow-root)

JUPYTER_DATA_DIR="$out/jupyter" JUPYTER_CONFIG_DIR="$out/config" JUPYTERLAB_SETTINGS_DIR="$out/settings" \
	JUPYTERLAB_WORKSPACES_DIR="$out/workspaces" ADVLAB_ROOT="$root" \
	"$lab" --no-browser --ip=127.0.0.1 --port="$port" --port-retries=0 "${root_flag[@]}" \
	--IdentityProvider.token="$token" --ServerApp.root_dir="$work" \
	--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate >"$log" 2>&1 &
server=$!
# shellcheck source=stop.sh
. "$(dirname "${BASH_SOURCE[0]}")/stop.sh"
stop_server() {
	stop_process "$server"
}
trap stop_server EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 120); do
	if /usr/bin/python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/api/status?token=" + sys.argv[2], timeout=2)' "$base" "$token" 2>/dev/null; then
		break
	fi
	kill -0 "$server" 2>/dev/null || { echo "lab check: JupyterLab exited at start; its log ($log):" >&2; tail -n 30 "$log" >&2; exit 1; }
	sleep 0.5
done

status=0
LAB_URL="$base" LAB_TOKEN="$token" LAB_OUT="$out" node "$here/lab_check.mjs" "$@" || status=$?
if [ "$status" != 0 ]; then
	echo "lab check: JupyterLab's log ($log), last lines:" >&2
	tail -n 40 "$log" >&2
fi
exit "$status"
