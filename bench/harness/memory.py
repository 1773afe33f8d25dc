"""Memory of a proxy: while streaming a large body each way, and with many idle connections."""

import socket
import subprocess
import time
from pathlib import Path

from .processes import established_connections, rss_kib
from .proxies import CLIENT_AUTHORIZATION, CLIENT_TENANT

SAMPLE_INTERVAL_SECONDS = 0.05
TRANSFER_TIMEOUT_SECONDS = 600
IDLE_BATCH = 100
IDLE_REQUEST = (
    "GET /api/public/products HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Accept: application/json\r\n"
    f"Authorization: {CLIENT_AUTHORIZATION}\r\n"
    f"__tenant: {CLIENT_TENANT}\r\n"
    "\r\n"
).encode()


def sparse_file(path: Path, size: int) -> Path:
    """Creates a file of `size` zero bytes that takes no disk space."""
    with open(path, "wb") as file:
        file.truncate(size)
    return path


def upload(proxy, source: Path, size: int, cpus: str) -> dict:
    """POSTs `source` through the proxy and samples its RSS until the upload ends."""
    argv = [
        "curl", "-sS", "-o", "/dev/null", "-D", "-", "-X", "POST",
        "-H", "Expect:", "-H", "Content-Type: application/octet-stream",
        "-T", str(source), "--max-time", str(TRANSFER_TIMEOUT_SECONDS),
        proxy.url() + "/upload",
    ]
    output = _transfer(proxy, argv, cpus)
    received = _header(output["stdout"], "x-bench-received-bytes")
    output["complete"] = received == str(size)
    return output


def download(proxy, size: int, cpus: str) -> dict:
    """GETs `size` bytes through the proxy and samples its RSS until the download ends."""
    argv = [
        "curl", "-sS", "-o", "/dev/null", "-w", "%{size_download}",
        "--max-time", str(TRANSFER_TIMEOUT_SECONDS), proxy.url() + f"/bytes/{size}",
    ]
    output = _transfer(proxy, argv, cpus)
    output["complete"] = output["stdout"].strip() == str(size)
    return output


def _transfer(proxy, argv, cpus: str) -> dict:
    pids = proxy.pids()
    before = rss_kib(pids)
    peak = before
    started = time.monotonic()
    process = subprocess.Popen(
        ["taskset", "-c", cpus, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    while process.poll() is None:
        peak = max(peak, rss_kib(pids))
        time.sleep(SAMPLE_INTERVAL_SECONDS)
    stdout, stderr = process.communicate()
    return {
        "rss_before_kib": before,
        "rss_peak_kib": peak,
        "seconds": time.monotonic() - started,
        "stdout": stdout,
        "error": stderr.strip() if process.returncode else "",
    }


def _header(response_head: str, name: str):
    for line in response_head.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def idle_connections(proxy, count: int) -> dict:
    """Opens `count` keep-alive connections, one request each, and reads the RSS while they idle."""
    pids = proxy.pids()
    before = rss_kib(pids)
    sockets = []
    try:
        while len(sockets) < count:
            batch = [_open(proxy.port) for _ in range(min(IDLE_BATCH, count - len(sockets)))]
            sockets.extend(batch)
            for connection in batch:
                connection.sendall(IDLE_REQUEST)
            for connection in batch:
                _read_response(connection)
        # Let the proxy finish the exchanges' bookkeeping before reading.
        time.sleep(1)
        return {
            "connections": count,
            "established": established_connections(proxy.port),
            "rss_before_kib": before,
            "rss_kib": rss_kib(pids),
        }
    finally:
        for connection in sockets:
            connection.close()


def _open(port: int) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def _read_response(connection: socket.socket):
    """Reads one response framed by Content-Length, leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            raise RuntimeError("the proxy closed an idle-test connection before answering")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if status.split()[1:2] != [b"200"]:
        raise RuntimeError(f"idle-test request failed: {status!r}")
    length = _content_length(head)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            raise RuntimeError("the proxy closed an idle-test connection mid-body")
        body += chunk


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise RuntimeError("idle-test response has no Content-Length")
