#!/usr/bin/env bash
# install-go-tool.sh MODULE VERSION PACKAGE: builds PACKAGE from MODULE@VERSION into GOBIN, in a
# scratch module of its own (so the tools' requirements never meet, and no `@latest` lookup is made).
set -euo pipefail
module="$1" version="$2" package="$3"
export GOEXPERIMENT= GOWORK=off # tools build like any Go program
scratch="$(mktemp -d)"
cd "$scratch"
go mod init advlab.local/tool >/dev/null
go get "$module@$version"
go install "$package"
cd /
rm -rf "$scratch"
