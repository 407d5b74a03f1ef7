# Sourced by the browser checks: stop_process PID stops a server they started, TERM first, then
# KILL after 5 s.
stop_process() {
	local pid="$1"
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
}
