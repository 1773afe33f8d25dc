"""Timed load runs with wrk, and the CPU each side used during them."""

import json
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .processes import cpu_seconds

LUA_SCRIPT = Path(__file__).resolve().parent.parent / "wrk" / "load.lua"
GET_PATH = "/api/public/products?skipCount=0&maxResultCount=10"
POST_PATH = "/api/public/customers"


@dataclass(frozen=True)
class Case:
    """One kind of load: a request shape and a number of connections."""

    name: str
    method: str
    path: str
    body_bytes: int
    connections: int


def cases(connections: int, post_bytes: int) -> list[Case]:
    return [
        Case("small GET", "GET", GET_PATH, 0, connections),
        Case(f"{post_bytes // 1024} KiB POST", "POST", POST_PATH, post_bytes, connections),
        Case("small GET, 1 connection", "GET", GET_PATH, 0, 1),
    ]


@dataclass(frozen=True)
class Target:
    """A destination of the load: a proxy, or the upstream itself as the limit."""

    name: str
    url: str
    pids: object  # callable returning the proxy's pids, or None for the upstream itself
    authorization: str
    tenant: str


def run(target: Target, case: Case, seconds: int, cpus: str, upstream_pids, log_path: Path) -> dict:
    """Runs wrk once and returns its figures with the CPU used by the proxy and the load side."""
    proxy_pids = target.pids() if target.pids else []
    proxy_before = cpu_seconds(proxy_pids)
    upstream_before = cpu_seconds(upstream_pids)
    children_before = _children_cpu()
    started = time.monotonic()

    output = _wrk(target, case, seconds, cpus, log_path)

    wall = time.monotonic() - started
    figures = _parse(output, log_path)
    figures["proxy_cpu_seconds"] = cpu_seconds(proxy_pids) - proxy_before
    figures["load_cpu_seconds"] = (
        cpu_seconds(upstream_pids) - upstream_before + _children_cpu() - children_before
    )
    figures["wall_seconds"] = wall
    return figures


def _wrk(target: Target, case: Case, seconds: int, cpus: str, log_path: Path) -> str:
    argv = [
        "taskset", "-c", cpus,
        "wrk", "-t1", f"-c{case.connections}", f"-d{seconds}s", "--timeout", "5s",
        "-s", str(LUA_SCRIPT), target.url + case.path,
    ]
    env = {
        "BENCH_METHOD": case.method,
        "BENCH_PATH": case.path,
        "BENCH_BODY_BYTES": str(case.body_bytes),
        "BENCH_AUTHORIZATION": target.authorization,
        "BENCH_TENANT": target.tenant,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    completed = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(argv)}\n{completed.stdout}{completed.stderr}\n")
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed with status {completed.returncode}; see {log_path}")
    return completed.stdout


def _parse(output: str, log_path: Path) -> dict:
    for line in output.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"wrk printed no result line; see {log_path}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
