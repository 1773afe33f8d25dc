"""Turns a run's record into the results page: tables, ratios and the targets' verdicts."""

import statistics
from pathlib import Path

from .fairness import INFORMATIONAL, REQUIRED

PROXIES = ("rekaz-proxy", "nginx", "haproxy")
TARGETS = ("direct", *PROXIES)
SMALL_GET = "small GET"
ONE_CONNECTION = "small GET, 1 connection"
MIB = 1024


def summarize(rows: list[dict]) -> dict:
    """Groups load runs by (scheme, case, target) and takes the median of each figure."""
    groups: dict = {}
    for row in rows:
        groups.setdefault((row["scheme"], row["case"], row["target"]), []).append(row)
    return {key: _median_figures(runs) for key, runs in groups.items()}


def _median_figures(runs: list[dict]) -> dict:
    def median(extract):
        return statistics.median(extract(run) for run in runs)

    def seconds(run):
        return run["duration_us"] / 1e6

    return {
        "rounds": len(runs),
        "rps": median(lambda run: run["requests"] / seconds(run)),
        "p50": median(lambda run: run["latency_us"]["p50"]),
        "p99": median(lambda run: run["latency_us"]["p99"]),
        "p999": median(lambda run: run["latency_us"]["p999"]),
        "proxy_cpu": median(lambda run: run["proxy_cpu_seconds"] / seconds(run)),
        "cpu_us": median(lambda run: run["proxy_cpu_seconds"] * 1e6 / max(run["requests"], 1)),
        "load_cpu": median(lambda run: run["load_cpu_seconds"] / seconds(run)),
        "errors": sum(sum(run["errors"].values()) for run in runs),
    }


def render(record: dict, analysis: str) -> str:
    """Returns the whole results page as Markdown."""
    summary = summarize(record["load"])
    sections = [
        _header(record),
        _run_section(record),
        _fairness_section(record),
        *_load_sections(record, summary),
        _memory_section(record),
        _targets_section(record, summary),
        analysis.strip() + "\n" if analysis.strip() else "",
    ]
    return "\n".join(section for section in sections if section)


def _header(record: dict) -> str:
    lines = [
        "# Benchmarks",
        "",
        "rekaz-proxy compared with nginx and HAProxy doing the same job on one machine: inject",
        "`Authorization` and `__tenant`, strip the client's credentials, keep connections to the",
        "upstream alive, log one line per exchange. `bash bench/run.sh` reproduces this page; the",
        "proxies' configurations and why they are a fair match are in `bench/README.md`.",
        "",
        "This page is written by `bench/harness/report.py`; edit the analysis in `bench/analysis.md`.",
        "",
    ]
    if record["mode"] == "smoke":
        duration = record["options"]["duration"]
        lines += [
            f"> **Smoke run.** Each load case ran for {duration} s, once, on a machine busy with",
            "> other work. Its throughput and latency figures show that the harness works; they",
            "> are not a measurement. The memory tests used the sizes shown in their table.",
            "",
        ]
    return "\n".join(lines)


def _run_section(record: dict) -> str:
    options, machine = record["options"], record["machine"]
    lines = [
        "## Run",
        "",
        f"- Date: {record['started']}; mode: {record['mode']}; command: `{record['command']}`.",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; "
        f"{machine['os']}, Linux {machine['kernel']}.",
        f"- Load average (1, 5, 15 min) before: {' '.join(machine['load_average'])}; "
        f"after: {' '.join(record['load_average_after'])}.",
        f"- Each case: {options['duration']} s per run, {options['rounds']} round(s), targets in "
        f"rotating order each round; medians shown. Warm-up: {options['warmup']} s per target.",
        f"- CPUs: proxy on CPU {options['proxy_cpus']} (one worker or thread); wrk (one thread) "
        f"and the upstream (one thread) on CPU {options['load_cpus']}.",
        "- Access logs: on for all three, one line per exchange, written unbuffered to a file.",
        "",
        "| Program | Version |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {version} |" for name, version in machine["versions"].items()]
    return "\n".join(lines) + "\n"


def _fairness_section(record: dict) -> str:
    lines = [
        "## Same work",
        "",
        "What reached the upstream when a client sent its own `Authorization`, `__tenant`,",
        "`Proxy-Authorization`, a Python `User-Agent` and `Connection: keep-alive, X-Hop` (checked",
        "through the upstream's `/headers` echo before any load; the run stops if a required check",
        "fails).",
        "",
    ]
    for scheme, results in record["fairness"].items():
        lines += [f"Upstream over {scheme}:", "", "| Check | " + " | ".join(PROXIES) + " |"]
        lines.append("| --- |" + " --- |" * len(PROXIES))
        for check in (*REQUIRED, *INFORMATIONAL):
            marks = ["yes" if results[proxy][check] else "**no**" for proxy in PROXIES]
            note = " (not required)" if check in INFORMATIONAL else ""
            lines.append(f"| {check}{note} | " + " | ".join(marks) + " |")
        lines.append("")
    return "\n".join(lines)


def _load_sections(record: dict, summary: dict) -> list[str]:
    sections = ["## Throughput and latency\n"]
    sections.append(
        "Latency is wrk's, from request written to response read, over all requests of a run.\n"
        "*Added p99* is the target's p99 minus the direct p99. *Proxy CPU* is the proxy's user\n"
        "plus system time over the run's length, where 100% is one core. *Load CPU* is the same\n"
        "for wrk and the upstream together. They share one core, so near 100% means the load\n"
        "side, not the proxy, set the pace.\n"
    )
    for scheme in record["options"]["schemes"]:
        for case in record["cases"]:
            if (scheme, case, "direct") in summary:
                sections.append(_case_tables(scheme, case, summary))
    return sections


def _case_tables(scheme: str, case: str, summary: dict) -> str:
    figures = {target: summary.get((scheme, case, target)) for target in TARGETS}
    direct, nginx = figures["direct"], figures["nginx"]
    lines = [
        f"### {case}, upstream over {scheme}",
        "",
        "| Target | req/s | p50 | p99 | p99.9 | added p99 | proxy CPU | CPU µs/req | load CPU | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target, row in figures.items():
        if row is not None:
            lines.append(_case_row(target, row, direct))
    lines += ["", "| Ratio | " + " | ".join(PROXIES) + " |", "| --- |" + " ---: |" * len(PROXIES)]
    for label, key, base in (
        ("req/s ÷ nginx", "rps", nginx),
        ("req/s ÷ direct", "rps", direct),
        ("p50 ÷ nginx", "p50", nginx),
        ("p99 ÷ nginx", "p99", nginx),
        ("p99.9 ÷ nginx", "p999", nginx),
        ("p99 ÷ direct", "p99", direct),
        ("p99.9 ÷ direct", "p999", direct),
        ("CPU µs/req ÷ nginx", "cpu_us", nginx),
    ):
        cells = [_ratio(figures[proxy], base, key) for proxy in PROXIES]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _case_row(target: str, row: dict, direct: dict) -> str:
    latency = f"{_ms(row['p50'])} | {_ms(row['p99'])} | {_ms(row['p999'])}"
    if target == "direct":
        proxy_cells = "- | - | -"
    else:
        added = _ms(row["p99"] - direct["p99"])
        proxy_cells = f"{added} | {_percent(row['proxy_cpu'])} | {row['cpu_us']:.1f}"
    return (
        f"| {target} | {row['rps']:,.0f} | {latency} | {proxy_cells} | "
        f"{_percent(row['load_cpu'])} | {row['errors']} |"
    )


def _memory_section(record: dict) -> str:
    memory = record.get("memory")
    if not memory:
        return ""
    options = record["options"]
    size = _size(options["stream_bytes"])
    lines = [
        "## Memory",
        "",
        "Resident set size (RSS) summed over the proxy's processes (nginx: master and worker),",
        "read from `/proc`. Shared library pages count in full for each process.",
    ]
    header = "| Proxy | idle after start | peak during load runs |"
    rule = "| --- | ---: | ---: |"
    tested = not options["skip_memory"]
    if tested:
        lines += [
            f"Streaming and idle connections ran with the upstream over {record['memory_scheme']};",
            "*added* is the peak during the test minus the RSS just before it.",
        ]
        header += (f" {size} upload: added | {size} download: added | "
                   f"{options['idle_connections']:,} idle connections: RSS (added) |")
        rule += " ---: | ---: | ---: |"
    lines += ["", header, rule]
    for proxy in PROXIES:
        if proxy in memory:
            lines.append(_memory_row(proxy, memory[proxy], tested))
    return "\n".join(lines) + "\n"


def _memory_row(proxy: str, row: dict, tested: bool) -> str:
    peak = max(row["peak_load_kib"].values(), default=0)
    cells = f"| {proxy} | {_mib(row['idle_kib'])} | {_mib(peak)} |"
    if not tested:
        return cells
    idle = row["idle_connections"]
    idle_added = _mib(idle["rss_kib"] - idle["rss_before_kib"])
    return (
        f"{cells} {_transfer_cell(row['upload'])} | {_transfer_cell(row['download'])} | "
        f"{_mib(idle['rss_kib'])} ({idle_added}; {idle['established']:,} open) |"
    )


def _transfer_cell(transfer: dict) -> str:
    added = _mib(transfer["rss_peak_kib"] - transfer["rss_before_kib"])
    if not transfer["complete"]:
        return f"{added} (**incomplete**: {transfer['error'] or 'wrong byte count'})"
    return f"{added} ({transfer['seconds']:.1f} s)"


def _targets_section(record: dict, summary: dict) -> str:
    lines = ["## Targets", "", "| Target | Measured | Met |", "| --- | --- | --- |"]
    for scheme in record["options"]["schemes"]:
        lines += _throughput_targets(scheme, summary)
        lines += _latency_target(scheme, summary)
    lines += _memory_targets(record)
    return "\n".join(lines) + "\n"


def _throughput_targets(scheme: str, summary: dict) -> list[str]:
    ours = summary.get((scheme, SMALL_GET, "rekaz-proxy"))
    lines = []
    for other in ("nginx", "haproxy"):
        theirs = summary.get((scheme, SMALL_GET, other))
        if ours and theirs:
            ratio = ours["rps"] / theirs["rps"]
            lines.append(
                f"| small GET req/s ≥ 1.1 × {other} ({scheme}) | {ratio:.2f}× | {_met(ratio >= 1.1)} |"
            )
    return lines


def _latency_target(scheme: str, summary: dict) -> list[str]:
    rows = {target: summary.get((scheme, ONE_CONNECTION, target)) for target in TARGETS}
    if not all(rows[target] for target in ("direct", "rekaz-proxy", "nginx")):
        return []
    ours = rows["rekaz-proxy"]["p99"] - rows["direct"]["p99"]
    theirs = rows["nginx"]["p99"] - rows["direct"]["p99"]
    met = theirs > 0 and ours <= 0.9 * theirs
    return [
        f"| added p99 ≤ 0.9 × nginx's, 1 connection ({scheme}) | {_ms(ours)} vs {_ms(theirs)} | "
        f"{_met(met)} |"
    ]


def _memory_targets(record: dict) -> list[str]:
    row = (record.get("memory") or {}).get("rekaz-proxy")
    if row is None or record["options"]["skip_memory"]:
        return []
    options = record["options"]
    upload = row["upload"]["rss_peak_kib"] - row["upload"]["rss_before_kib"]
    download = row["download"]["rss_peak_kib"] - row["download"]["rss_before_kib"]
    idle = row["idle_connections"]["rss_kib"]
    size = _size(options["stream_bytes"])
    count = f"{options['idle_connections']:,}"
    return [
        f"| idle RSS ≤ 8 MiB | {_mib(row['idle_kib'])} | {_met(row['idle_kib'] <= 8 * MIB)} |",
        f"| {size} upload adds < 16 MiB | {_mib(upload)} | {_met(upload < 16 * MIB and row['upload']['complete'])} |",
        f"| {size} download adds < 16 MiB | {_mib(download)} | {_met(download < 16 * MIB and row['download']['complete'])} |",
        f"| {count} idle connections < 64 MiB | {_mib(idle)} | {_met(idle < 64 * MIB)} |",
    ]


def _ms(microseconds: float) -> str:
    return f"{microseconds / 1000:.2f} ms"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def _mib(kib: float) -> str:
    return f"{kib / MIB:.1f} MiB"


def _size(size_bytes: int) -> str:
    if size_bytes % (1 << 30) == 0:
        return f"{size_bytes >> 30} GiB"
    return f"{size_bytes / (1 << 20):.0f} MiB"


def _ratio(row, base, key: str) -> str:
    if not row or not base or not base[key]:
        return "-"
    return f"{row[key] / base[key]:.2f}×"


def _met(condition: bool) -> str:
    return "yes" if condition else "**no**"


def read_analysis(path: Path) -> str:
    """Returns the hand-written analysis that closes the page, or nothing if it is missing."""
    return path.read_text(encoding="utf-8") if path.exists() else ""
