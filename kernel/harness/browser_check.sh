#!/usr/bin/env bash
# Serves an executed notebook with Jupyter on 127.0.0.1 and checks it in headless Chromium.
#
#   kernel/harness/browser_check.sh EXECUTED.ipynb SCREENSHOT.png [MIN_IMAGES] [MIN_SVGS]
#
# The server listens on a free loopback port with an empty token (only for this local check), runs
# with JUPYTER_DATA_DIR as given by the caller (the harness's kernelspec), and is stopped by its PID
# when the check ends, however it ends.
set -euo pipefail

notebook="${1:?usage: browser_check.sh EXECUTED.ipynb SCREENSHOT.png [MIN_IMAGES]}"
screenshot="${2:?usage: browser_check.sh EXECUTED.ipynb SCREENSHOT.png [MIN_IMAGES]}"
min_images="${3:-1}"
min_svgs="${4:-0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

[ -f "$notebook" ] || { echo "browser check: $notebook not found (run the notebook harness first)" >&2; exit 1; }
notebook_dir="$(cd "$(dirname "$notebook")" && pwd)"
name="$(basename "$notebook")"
mkdir -p "$(dirname "$screenshot")"
screenshot="$(cd "$(dirname "$screenshot")" && pwd)/$(basename "$screenshot")"

# The harness just produced these outputs: trust them as Jupyter trusts outputs a person produced in
# their own session. (An untrusted notebook's HTML is sanitised, which strips inline SVG charts.)
/usr/bin/python3 -c 'import sys, nbformat; from nbformat.sign import NotebookNotary
NotebookNotary().sign(nbformat.read(sys.argv[1], as_version=4))' "$notebook"

port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(--allow-root)

jupyter notebook --no-browser --ip=127.0.0.1 --port="$port" --port-retries=0 \
	--NotebookApp.token='' --NotebookApp.password='' "${root_flag[@]}" \
	--notebook-dir="$notebook_dir" >"$log" 2>&1 &
server=$!
# shellcheck source=stop.sh
. "$(dirname "${BASH_SOURCE[0]}")/stop.sh"
stop_server() {
	stop_process "$server"
	rm -f "$log"
}
trap stop_server EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 120); do
	if /usr/bin/python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/api", timeout=2)' "$base" 2>/dev/null; then
		break
	fi
	kill -0 "$server" 2>/dev/null || { echo "browser check: jupyter exited:" >&2; cat "$log" >&2; exit 1; }
	sleep 0.5
done

status=0
node "$here/browser_check.mjs" "$base/notebooks/$name" "$screenshot" "$min_images" "$min_svgs" || status=$?
if [ "$status" != 0 ]; then
	echo "browser check: server log:" >&2
	tail -n 40 "$log" >&2
fi
exit "$status"
