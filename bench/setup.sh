#!/bin/sh
# Install the load generator the benchmarks use (wrk), once; safe to run again.
set -e
if command -v wrk >/dev/null 2>&1; then
    echo "wrk is already installed: $(command -v wrk)"
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
elif command -v brew >/dev/null 2>&1; then
    brew install wrk
else
    echo "please install wrk (https://github.com/wg/wrk) with your package manager" >&2
    exit 1
fi
