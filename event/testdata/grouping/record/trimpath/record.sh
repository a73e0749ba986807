#!/bin/sh
# record.sh: builds this recorder four ways and runs it five, each run
# sending its two events to capture.py, which must be listening on
# 127.0.0.1:18777 (python3 ../capture.py 18777 OUTDIR). Variants:
#   trimpath-old        -trimpath, go.old.mod (backoff v4.1.3, x/sync v0.10.0)
#   trimpath-new        -trimpath, go.mod (backoff v4.3.0, x/sync v0.25.0)
#   trimpath-new-nosrc  the same binary, run without the module cache
#                       (GOMODCACHE empty): no source for the dependencies
#   old, new            no -trimpath, go.old.mod and go.mod
set -eu
cd "$(dirname "$0")"
export GOWORK=off # -modfile needs it; errlog comes from go.mod's replace
bin=$(mktemp -d)
nosrc=$(mktemp -d)
go build -trimpath -modfile=go.old.mod -o "$bin/trimpath-old" .
go build -trimpath -o "$bin/trimpath-new" .
go build -modfile=go.old.mod -o "$bin/old" .
go build -o "$bin/new" .
# Run from this folder, so that errlog finds the main module's source.
"$bin/trimpath-old" -variant trimpath-old
"$bin/trimpath-new" -variant trimpath-new
GOMODCACHE="$nosrc" "$bin/trimpath-new" -variant trimpath-new-nosrc
"$bin/old" -variant old
"$bin/new" -variant new
rm -rf "$bin" "$nosrc"
