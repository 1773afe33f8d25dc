"""The machine and program versions a run used, for the results page."""

import os
import platform
import subprocess
from pathlib import Path


def _run(argv) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None


def _version(argv, words=None) -> str:
    """Returns the first line, or its first `words` words, that a program prints about its
    version; nginx prints it on stderr."""
    completed = _run(argv)
    if completed is None:
        return "not installed"
    text = (completed.stdout or completed.stderr).strip()
    if not text:
        return "unknown"
    return " ".join(text.splitlines()[0].split()[:words])


def _commit(repo: Path) -> str:
    """Returns the short commit hash, marked when tracked files have uncommitted changes."""
    head = _run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])
    if head is None or head.returncode != 0:
        return "commit unknown: not a git checkout"
    status = _run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"])
    changed = status is not None and status.stdout.strip()
    return f"commit {head.stdout.strip()}" + (", with uncommitted changes" if changed else "")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _os_name() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


def describe(repo: Path, rekaz_binary: Path) -> dict:
    """Returns the machine's CPU, memory, OS and the versions of every program in the run."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1),
        "os": _os_name(),
        "kernel": platform.release(),
        "load_average": load_average(),
        "versions": {
            "rekaz-proxy": f"{_version([str(rekaz_binary), '--version'])} ({_commit(repo)})",
            "nginx": _version(["nginx", "-v"]),
            "HAProxy": _version(["haproxy", "-v"], words=4),
            "wrk": _version(["wrk", "-v"], words=3),
            "rustc": _version(["rustc", "--version"]),
            "curl": _version(["curl", "--version"], words=2),
        },
    }


def load_average() -> list[str]:
    """Returns the 1, 5 and 15 minute load averages, which show how busy the machine was."""
    return Path("/proc/loadavg").read_text().split()[:3]
