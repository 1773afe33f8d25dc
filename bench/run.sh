#!/usr/bin/env bash
# Benchmarks rekaz-proxy against nginx and HAProxy on loopback and writes docs/benchmarks.md.
#
#   bash bench/run.sh            full run: about 15 minutes on 2 cores
#   bash bench/run.sh --smoke    a short check of the harness; the page goes to target/bench/
#   bash bench/run.sh --help     every option of bench/bench.py
#
# Installs wrk, nginx-light, HAProxy, curl, openssl and python3 from Debian's packages when they
# are missing, builds the release binaries, then runs bench/bench.py. Everything it starts
# listens on 127.0.0.1 and is stopped on exit, also when the run is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

install_missing() {
    local missing=()
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
    command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
    if [ "${#missing[@]}" -eq 0 ]; then
        return
    fi
    echo "installing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "run as root, or install these Debian packages first: ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    # policy-rc.d or the missing init system keeps the packaged services from starting.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

# Stops the process groups bench.py started and did not stop itself, for instance after a kill.
stop_leftovers() {
    local pid_file="$BENCH_RUN_DIR/children.pids"
    [ -f "$pid_file" ] || return 0
    # Each pid leads its own process group; a group that has ended is skipped.
    while read -r pid; do
        kill -KILL -- "-$pid" 2>/dev/null || true
    done <"$pid_file"
}

case " $* " in
*" --help "* | *" -h "*)
    exec python3 bench/bench.py --help
    ;;
esac

install_missing
cargo build --release --bin rekaz-proxy --example bench_upstream

export BENCH_RUN_DIR="${BENCH_RUN_DIR:-$PWD/target/bench/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$BENCH_RUN_DIR"
trap stop_leftovers EXIT
# The 10,000 idle connections need as many file descriptors in the proxy and in bench.py.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
python3 bench/bench.py "$@"
