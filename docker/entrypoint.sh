#!/usr/bin/env bash
# Starts JupyterLab in the advlab images on 0.0.0.0:${JUPYTER_PORT:-8888} with the notebooks, never
# without a token: JUPYTER_TOKEN when given, else a random one that is printed. Extra arguments are
# passed to `jupyter lab`.
set -euo pipefail

token="${JUPYTER_TOKEN:-}"
if [ -z "$token" ]; then
	token="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
	echo "advlab: JUPYTER_TOKEN was not set; this run's token is: $token"
fi
export JUPYTER_TOKEN="$token"
cd "${ADVLAB_NOTEBOOKS:-$HOME/advlab/notebooks}"
exec jupyter lab --ip=0.0.0.0 --port="${JUPYTER_PORT:-8888}" --no-browser \
	--IdentityProvider.token="$token" --ServerApp.password='' "$@"
