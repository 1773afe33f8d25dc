"""Child processes, free loopback ports and readings from /proc."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_GRACE_SECONDS = 5.0


class StartError(RuntimeError):
    """A program did not start or did not become ready."""


class Processes:
    """Starts programs in their own process groups and stops every one of them on exit.

    Each started pid is appended to `pid_file`, so bench/run.sh can stop the groups that are
    still alive if this driver is killed before its own cleanup runs.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.pid_file = run_dir / "children.pids"
        self.children: list[subprocess.Popen] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop_all()

    def start(self, name, argv, cpus=None, env=None, stdout_path=None):
        """Starts `argv` pinned to `cpus`; standard output goes to `stdout_path`, by default
        RUN_DIR/NAME.log, and standard error to RUN_DIR/NAME.err."""
        if cpus:
            argv = ["taskset", "-c", cpus, *argv]
        stdout_path = stdout_path or self.run_dir / f"{name}.log"
        with open(stdout_path, "ab") as stdout, open(self.run_dir / f"{name}.err", "ab") as stderr:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                env=_environment(env or {}),
                start_new_session=True,
            )
        self.children.append(process)
        with open(self.pid_file, "a", encoding="ascii") as pids:
            pids.write(f"{process.pid}\n")
        return process

    def stop(self, process: subprocess.Popen):
        """Sends SIGTERM to the process group, then SIGKILL after a grace period."""
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
        # Workers such as nginx's may outlive a leader that exited on its own.
        _signal_group(process.pid, signal.SIGKILL)
        if process in self.children:
            self.children.remove(process)

    def stop_all(self):
        for process in reversed(list(self.children)):
            self.stop(process)


def _environment(changes: dict) -> dict:
    """Returns this process's environment with `changes` applied; a None value removes a name."""
    environment = {**os.environ, **changes}
    return {name: value for name, value in environment.items() if value is not None}


def _signal_group(pgid: int, sig: int):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def free_port() -> int:
    """Returns a loopback TCP port that was free a moment ago and can be bound again."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with socket.socket() as check:
        check.bind(("127.0.0.1", port))
    return port


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout=15.0):
    """Polls until `port` accepts a connection; fails early if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"{name} exited with status {process.returncode}; see its .err file")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise StartError(f"{name} did not accept connections on 127.0.0.1:{port} in {timeout} s")


def wait_for_line(path: Path, process: subprocess.Popen, name: str, timeout=15.0) -> str:
    """Polls until `path` contains a complete first line and returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text(encoding="utf-8", errors="replace")
            if "\n" in text:
                return text.split("\n", 1)[0]
        if process.poll() is not None:
            raise StartError(f"{name} exited with status {process.returncode}; see its .err file")
        time.sleep(0.05)
    raise StartError(f"{name} printed no line to {path} in {timeout} s")


def tree_pids(pid: int) -> list[int]:
    """Returns `pid` and its direct children, such as nginx's master and worker."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return [pid, *children]


def _status_kib(pids, field: str) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def rss_kib(pids) -> int:
    """Resident set size summed over `pids`, in KiB."""
    return _status_kib(pids, "VmRSS")


def peak_rss_kib(pids) -> int:
    """Peak resident set size (VmHWM) summed over `pids`, in KiB."""
    return _status_kib(pids, "VmHWM")


def cpu_seconds(pids) -> float:
    """User plus system CPU time used so far by `pids`, in seconds."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: utime and stime are fields 12 and 13 (0-based).
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def established_connections(port: int) -> int:
    """Counts established TCP connections whose local port is `port` (server side)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":
                count += 1
    return count
