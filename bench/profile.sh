#!/usr/bin/env bash
# Counts instructions and system calls per request for rekaz-proxy, nginx and HAProxy.
#
#   bash bench/profile.sh                 2,000 GETs per proxy, upstream over http
#   bash bench/profile.sh --scheme https  the same with TLS to the upstream
#
# Builds the release binaries with symbols (same code, so the same counts, as bench/run.sh
# measures) into target/profiling, installs valgrind and strace when missing, and runs
# bench/profile.py. The callgrind files in target/bench/profile-<time>/ open in
# callgrind_annotate or KCachegrind.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in valgrind strace nginx haproxy openssl python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    packages=("${missing[@]/nginx/nginx-light}")
    echo "installing: ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
fi

export CARGO_TARGET_DIR="$PWD/target/profiling"
CARGO_PROFILE_RELEASE_STRIP=none CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
    cargo build --release --bin rekaz-proxy --example bench_upstream
BENCH_BINARY_DIR="$CARGO_TARGET_DIR/release" python3 bench/profile.py "$@"
