"""Counts the work each proxy does per request: instructions and system calls.

valgrind's callgrind counts the user-space instructions a proxy executes while it forwards a
fixed number of requests after a warm-up, and strace counts the system calls it makes for the
same requests. Unlike timings on a busy machine, both counts repeat from run to run, so they
show the effect of a change in rekaz-proxy's hot path. Each proxy runs alone with the same
configuration as in bench/bench.py, and one client sends the requests one after another.

bench/profile.sh builds the binaries with symbols and then calls this script.
"""

import argparse
import dataclasses
import datetime
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from harness import upstream as upstream_process
from harness.client import send_sequential
from harness.processes import Processes
from harness.proxies import Launch, start_haproxy, start_nginx, start_rekaz_proxy

REPO = Path(__file__).resolve().parent.parent
STARTERS = {"rekaz-proxy": start_rekaz_proxy, "nginx": start_nginx, "haproxy": start_haproxy}
VALGRIND_START_TIMEOUT = 120.0


def parse_options(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests counted (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="requests before counting")
    parser.add_argument("--scheme", default="http", choices=("http", "https"),
                        help="scheme between the proxy and the upstream (default http)")
    parser.add_argument("--proxies", default=",".join(STARTERS),
                        help="proxies to count, comma-separated (default all three)")
    parser.add_argument("--binary-dir", type=Path,
                        default=Path(os.environ.get("BENCH_BINARY_DIR", REPO / "target" / "release")),
                        help="folder with rekaz-proxy and examples/bench_upstream")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    options = parse_options(argv)
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = REPO / "target" / "bench" / f"profile-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    print(f"run directory: {run_dir}")

    results = {}
    with Processes(run_dir) as processes:
        upstream_binary = options.binary_dir / "examples" / "bench_upstream"
        upstream = upstream_process.start(processes, run_dir, upstream_binary, "1")
        for product in options.proxies.split(","):
            launch = Launch(processes, run_dir, options.binary_dir / "rekaz-proxy", upstream,
                            options.scheme, "0")
            results[product] = {
                "instructions": count_instructions(launch, product, options),
                "system_calls": count_system_calls(launch, product, options),
            }
            print(f"{product:<12} {results[product]['instructions']:>9,.0f} instructions/request  "
                  f"{results[product]['system_calls']['total']:>5.1f} system calls/request", flush=True)

    (run_dir / "profile.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print()
    print(render(results, options))
    return 0


def count_instructions(launch: Launch, product: str, options) -> float:
    """Returns the instructions per request that callgrind counted in every process of the proxy."""
    out_file = launch.run_dir / f"callgrind.{product}.%p"
    wrapper = ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_file}")
    launch = dataclasses.replace(launch, wrapper=wrapper, start_timeout=VALGRIND_START_TIMEOUT,
                   nginx_single_process=True)
    proxy = STARTERS[product](launch)
    try:
        send_sequential(proxy.port, options.warmup)
        pids = proxy.pids()
        _callgrind_control(["-i", "on"], pids)
        send_sequential(proxy.port, options.requests)
        _callgrind_control(["-i", "off"], pids)
        _callgrind_control(["-d"], pids)
    finally:
        launch.processes.stop(proxy.process)
    total = sum(_callgrind_total(path) for path in launch.run_dir.glob(f"callgrind.{product}.*"))
    return total / options.requests


def _callgrind_control(arguments, pids):
    for pid in pids:
        subprocess.run(["callgrind_control", *arguments, str(pid)], check=True,
                       capture_output=True, timeout=60)


def _callgrind_total(path: Path) -> int:
    """Reads the instruction total of one callgrind output file (its `totals:` line)."""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    return 0


def count_system_calls(launch: Launch, product: str, options) -> dict:
    """Returns the system calls per request that strace counted, in total and by name.

    strace follows the proxy from start to exit, so two runs are counted, one with the warm-up
    requests only and one with the counted requests added, and the difference is kept.
    """
    baseline = _strace_run(launch, product, options.warmup, "baseline")
    loaded = _strace_run(launch, product, options.warmup + options.requests, "counted")
    names = set(baseline) | set(loaded)
    counts = {
        name: (loaded.get(name, 0) - baseline.get(name, 0)) / options.requests for name in names
    }
    ordered = dict(sorted(counts.items(), key=lambda item: -item[1]))
    return {"total": sum(counts.values()), "by_name": ordered}


def _strace_run(launch: Launch, product: str, requests: int, label: str) -> dict:
    summary_file = launch.run_dir / f"strace.{product}.{label}.txt"
    wrapper = ("strace", "-f", "-c", "-o", str(summary_file))
    proxy = STARTERS[product](dataclasses.replace(launch, wrapper=wrapper))
    try:
        send_sequential(proxy.port, requests)
    finally:
        # strace writes its table when the proxy, which gets the same SIGTERM, has exited.
        launch.processes.stop(proxy.process)
    return _strace_counts(summary_file)


def _strace_counts(summary_file: Path) -> dict:
    """Parses the table of `strace -c` into calls per system call name."""
    counts = {}
    # Rows read: % time, seconds, usecs/call, calls, errors (may be empty), syscall name.
    row = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$")
    for line in summary_file.read_text(encoding="utf-8").splitlines():
        match = row.match(line)
        if match and match.group(2) != "total":
            counts[match.group(2)] = int(match.group(1))
    return counts


def render(results: dict, options) -> str:
    """Returns the counts as a Markdown table."""
    lines = [
        f"Per request, after {options.warmup} warm-up requests, over {options.requests} "
        f"sequential GETs on one connection, upstream over {options.scheme}:",
        "",
        "| Proxy | instructions | ÷ nginx | system calls | most frequent system calls |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    nginx = results.get("nginx", {}).get("instructions")
    for product, row in results.items():
        ratio = f"{row['instructions'] / nginx:.2f}×" if nginx else "-"
        top = ", ".join(f"{name} {count:.1f}" for name, count in
                        list(row["system_calls"]["by_name"].items())[:4])
        lines.append(f"| {product} | {row['instructions']:,.0f} | {ratio} | "
                     f"{row['system_calls']['total']:.1f} | {top} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
