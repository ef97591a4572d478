#!/usr/bin/env bash
# Runs Klaxon's tests: everything, with the race detector on the packages
# whose concurrency matters.
set -euo pipefail
cd "$(dirname "$0")"
go test -count=1 ./...
go test -count=1 -race ./escalation/... ./store/... ./scenario/...
