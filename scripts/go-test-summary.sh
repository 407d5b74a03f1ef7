#!/usr/bin/env bash
# Prints the tally of a `go test -v` log: packages that passed or failed, then one closing line
#   tests: N passed, M failed, K skipped
# counting tests and subtests; a package that failed to build or set up counts as one failure.
#
#   scripts/go-test-summary.sh build/go-test.log
set -euo pipefail
log="${1:?usage: go-test-summary.sh GO-TEST-LOG}"
[ -f "$log" ] || { echo "go test: no log at $log"; exit 1; }
awk '
	/^[[:space:]]*--- PASS:/ { passed++ }
	/^[[:space:]]*--- FAIL:/ { failed++ }
	/^[[:space:]]*--- SKIP:/ { skipped++ }
	/^ok[[:space:]]/ { ok_pkgs++ }
	/^FAIL[[:space:]].*\[(build|setup) failed\]/ { broken++ }
	/^FAIL[[:space:]]/ { fail_pkgs++ }
	END {
		printf "go test packages: %d ok, %d failed (%d did not build)\n", ok_pkgs, fail_pkgs, broken
		printf "tests: %d passed, %d failed, %d skipped\n", passed, failed + broken, skipped
	}
' "$log"
