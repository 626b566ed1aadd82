#!/bin/sh
# Install what the benchmarks need, once; safe to run again: the load generator (wrk) and,
# for compose_bench.py, Podium's npm packages in bench/podium (pinned by its package-lock.json).
set -e
cd "$(dirname "$0")"
if command -v wrk >/dev/null 2>&1; then
    echo "wrk is already installed: $(command -v wrk)"
elif command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
elif command -v brew >/dev/null 2>&1; then
    brew install wrk
else
    echo "please install wrk (https://github.com/wg/wrk) with your package manager" >&2
    exit 1
fi
if command -v npm >/dev/null 2>&1; then
    (cd podium && npm ci --no-audit --no-fund)
else
    echo "npm is missing: install Node.js (Debian: apt-get install nodejs npm) to run compose_bench.py" >&2
fi
