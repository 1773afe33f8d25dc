"""Benchmark driver: rekaz-proxy against nginx and HAProxy on loopback, in one run.

bench/run.sh installs the tools, builds the release binaries and then calls this script. It
starts the upstream and the proxies on free 127.0.0.1 ports, checks that each proxy does the
same header work, drives each with wrk in rotating order, measures memory, stops everything it
started and writes the results page. See bench/README.md for the method.
"""

import argparse
import datetime
import json
import os
import shlex
import signal
import sys
from pathlib import Path

from harness import fairness, load, machine, memory, report
from harness import upstream as upstream_process
from harness.processes import Processes, peak_rss_kib, rss_kib
from harness.proxies import (
    AUTHORIZATION,
    CLIENT_AUTHORIZATION,
    CLIENT_TENANT,
    TENANT_ID,
    Launch,
    Upstream,
    start_all,
)

REPO = Path(__file__).resolve().parent.parent
GIB = 1 << 30


def parse_options(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--smoke", action="store_true",
                        help="short check of the harness: 2 s per case, 1 round, 64 MiB "
                             "transfers, 1,000 idle connections; the page goes to the run "
                             "directory unless --output is given")
    parser.add_argument("--duration", type=int, help="seconds per load run (default 10)")
    parser.add_argument("--rounds", type=int, help="rounds over every case and target (default 3; "
                        "0 runs only the header checks and memory tests)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up per target (default 2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--post-bytes", type=int, default=4096, help="POST body size in bytes")
    parser.add_argument("--stream-bytes", type=int, help="upload and download size (default 1 GiB)")
    parser.add_argument("--idle-connections", type=int, help="idle keep-alive connections "
                        "held open for the memory test (default 10000)")
    parser.add_argument("--schemes", default="http,https",
                        help="upstream schemes to run, comma-separated (default http,https)")
    parser.add_argument("--proxy-cpus", default="0", help="taskset CPU list for the proxies")
    parser.add_argument("--load-cpus", default="1", help="taskset CPU list for wrk and the upstream")
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory tests")
    parser.add_argument("--output", type=Path, help="results page (default docs/benchmarks.md)")
    parser.add_argument("--render", type=Path, metavar="RESULTS_JSON",
                        help="write the page from an earlier run's results.json and "
                             "bench/analysis.md, without running anything")
    options = parser.parse_args(argv)
    _fill_defaults(options)
    return options


def _fill_defaults(options: argparse.Namespace):
    smoke = options.smoke
    defaults = {
        "duration": 2 if smoke else 10,
        "rounds": 1 if smoke else 3,
        "warmup": 1 if smoke else 2,
        "stream_bytes": 64 << 20 if smoke else GIB,
        "idle_connections": 1000 if smoke else 10000,
    }
    for name, value in defaults.items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    options.schemes = [scheme.strip() for scheme in options.schemes.split(",") if scheme.strip()]
    unknown = set(options.schemes) - {"http", "https"}
    if unknown:
        raise SystemExit(f"bench.py: unknown scheme {sorted(unknown)}; use http and/or https")


def main(argv=None) -> int:
    options = parse_options(argv)
    if options.render:
        record = json.loads(options.render.read_text(encoding="utf-8"))
        _write_page(record, options, options.render.parent)
        return 0
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)

    run_dir = _make_run_dir()
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    rekaz_binary = target_dir / "release" / "rekaz-proxy"
    upstream_binary = target_dir / "release" / "examples" / "bench_upstream"
    cases = load.cases(options.connections, options.post_bytes)
    print(f"run directory: {run_dir}")
    print(f"estimated length: {_estimate_minutes(options, cases):.0f} min")

    record = {
        "mode": "smoke" if options.smoke else "full",
        "command": "bash bench/run.sh " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "options": {key: value for key, value in vars(options).items() if key != "output"},
        "machine": machine.describe(REPO, rekaz_binary),
        "cases": [case.name for case in cases],
        "memory_scheme": "https" if "https" in options.schemes else options.schemes[0],
        "fairness": {},
        "load": [],
        "memory": {},
    }
    with Processes(run_dir) as processes:
        upstream = upstream_process.start(processes, run_dir, upstream_binary, options.load_cpus)
        for scheme in options.schemes:
            launch = Launch(processes, run_dir, rekaz_binary, upstream, scheme, options.proxy_cpus)
            _run_scheme(launch, options, cases, record)
    record["load_average_after"] = machine.load_average()

    (run_dir / "results.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    _write_page(record, options, run_dir)
    return 0


def _exit_on_signal(signum, _frame):
    # Raising here unwinds through the `with Processes(...)` block, which stops every child.
    raise SystemExit(128 + signum)


def _make_run_dir() -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(os.environ.get("BENCH_RUN_DIR", REPO / "target" / "bench" / stamp))
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def _estimate_minutes(options, cases) -> float:
    targets = 4
    runs = len(options.schemes) * targets * (len(cases) * options.rounds * options.duration
                                             + options.warmup)
    memory_tests = 0 if options.skip_memory else 60
    return (runs + memory_tests) / 60


def _run_scheme(launch: Launch, options, cases, record: dict):
    """Starts the proxies for one upstream scheme, measures them, and stops them."""
    scheme = launch.scheme
    proxies = start_all(launch)
    try:
        for proxy in proxies:
            record["memory"].setdefault(proxy.name, {"peak_load_kib": {}})
            record["memory"][proxy.name]["idle_kib"] = rss_kib(proxy.pids())
        _check_fairness(scheme, proxies, record)
        targets = _targets(launch.upstream, scheme, proxies)
        _warm_up(targets, cases[0], options, launch)
        for round_index in range(options.rounds):
            for case in cases:
                for target in _rotated(targets, round_index):
                    _load_run(target, case, round_index, options, launch, record)
        for proxy in proxies:
            record["memory"][proxy.name]["peak_load_kib"][scheme] = peak_rss_kib(proxy.pids())
        if scheme == record["memory_scheme"] and not options.skip_memory:
            _memory_tests(proxies, options, launch, record)
        _check_access_logs(proxies)
    finally:
        for proxy in proxies:
            launch.processes.stop(proxy.process)


def _check_fairness(scheme: str, proxies, record: dict):
    results = {proxy.name: fairness.check(proxy.port) for proxy in proxies}
    record["fairness"][scheme] = results
    for name, checks in results.items():
        failed = fairness.failures(checks)
        if failed:
            raise SystemExit(f"bench.py: {name} ({scheme}) failed the header checks {failed}; "
                             "fix its configuration in bench/configs")


def _targets(upstream: Upstream, scheme: str, proxies) -> list[load.Target]:
    direct = load.Target("direct", upstream.url(scheme), None, AUTHORIZATION, TENANT_ID)
    through = [
        load.Target(proxy.name, proxy.url(), proxy.pids, CLIENT_AUTHORIZATION, CLIENT_TENANT)
        for proxy in proxies
    ]
    return [direct, *through]


def _rotated(items: list, shift: int) -> list:
    shift %= len(items)
    return items[shift:] + items[:shift]


def _warm_up(targets, case, options, launch: Launch):
    if options.warmup <= 0:
        return
    for target in targets:
        log_path = launch.run_dir / "wrk-warmup.log"
        load.run(target, case, options.warmup, options.load_cpus, launch.upstream.pids, log_path)


def _load_run(target, case, round_index: int, options, launch: Launch, record: dict):
    log_path = launch.run_dir / "wrk.log"
    figures = load.run(target, case, options.duration, options.load_cpus,
                       launch.upstream.pids, log_path)
    figures.update(scheme=launch.scheme, case=case.name, target=target.name, round=round_index)
    record["load"].append(figures)
    rate = figures["requests"] / (figures["duration_us"] / 1e6)
    errors = sum(figures["errors"].values())
    print(f"[{launch.scheme}] {case.name:<24} {target.name:<12} round {round_index + 1}: "
          f"{rate:>9,.0f} req/s  p99 {figures['latency_us']['p99'] / 1000:6.2f} ms  "
          f"errors {errors}", flush=True)


def _memory_tests(proxies, options, launch: Launch, record: dict):
    source = memory.sparse_file(launch.run_dir / "upload.bin", options.stream_bytes)
    try:
        for proxy in proxies:
            row = record["memory"][proxy.name]
            row["upload"] = memory.upload(proxy, source, options.stream_bytes, options.load_cpus)
            row["download"] = memory.download(proxy, options.stream_bytes, options.load_cpus)
            row["idle_connections"] = memory.idle_connections(proxy, options.idle_connections)
            print(f"[memory] {proxy.name:<12} idle {row['idle_kib'] / 1024:.1f} MiB, "
                  f"{options.idle_connections:,} idle connections "
                  f"{row['idle_connections']['rss_kib'] / 1024:.1f} MiB", flush=True)
    finally:
        source.unlink(missing_ok=True)


def _check_access_logs(proxies):
    for proxy in proxies:
        if not proxy.access_log.exists() or proxy.access_log.stat().st_size == 0:
            raise SystemExit(f"bench.py: {proxy.name} wrote no access log to {proxy.access_log}")


def _write_page(record: dict, options, run_dir: Path):
    analysis = report.read_analysis(REPO / "bench" / "analysis.md")
    page = report.render(record, analysis)
    smoke = record["mode"] == "smoke"
    default = run_dir / "benchmarks.md" if smoke else REPO / "docs" / "benchmarks.md"
    output = options.output or default
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    print()
    print(page)
    print(f"results page: {output}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # The `with Processes(...)` block has already stopped every child by now.
        print("bench.py: interrupted; every process it started is stopped", file=sys.stderr)
        sys.exit(130)
