"""Starts the three proxies under test with the same work to do: see bench/README.md."""

import base64
import re
from dataclasses import dataclass
from pathlib import Path

from .processes import Processes, tree_pids, wait_for_port, free_port

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"

# The User-Agent every proxy sends upstream in place of the client's.
USER_AGENT = "rekaz-bench/1.0"

# Made-up credentials: the upstream accepts nothing else, and no real Rekaz account has them.
API_KEY = "bench-key-0001"
API_SECRET = "bench-secret-0001"
TENANT_ID = "3a1f3638-e6dc-d864-4aa7-df60cdbb1146"
AUTHORIZATION = "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()

# Credentials a careless client sends itself; every proxy must replace both.
CLIENT_AUTHORIZATION = "Basic " + base64.b64encode(b"client:must-be-replaced").decode()
CLIENT_TENANT = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Upstream:
    """The benchmark upstream, listening on two loopback ports."""

    http_port: int
    https_port: int
    ca_file: Path
    pids: tuple[int, ...]

    def port(self, scheme: str) -> int:
        return self.https_port if scheme == "https" else self.http_port

    def url(self, scheme: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port(scheme)}"


@dataclass
class Proxy:
    """One running proxy: its name, listen port, process and access log."""

    name: str
    port: int
    process: object
    access_log: Path

    def pids(self) -> list[int]:
        return tree_pids(self.process.pid)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Launch:
    """Settings shared by every proxy start: process table, run directory, binary, upstream."""

    processes: Processes
    run_dir: Path
    rekaz_binary: Path
    upstream: Upstream
    scheme: str
    cpus: str
    # A command that runs each proxy, such as valgrind for bench/profile.py; empty runs it as is.
    wrapper: tuple[str, ...] = ()
    start_timeout: float = 15.0
    # Runs nginx without a master process, as one process that valgrind can follow.
    nginx_single_process: bool = False


def start_all(launch: Launch) -> list[Proxy]:
    """Starts rekaz-proxy, nginx and HAProxy, each forwarding to the upstream over `scheme`."""
    return [start_rekaz_proxy(launch), start_nginx(launch), start_haproxy(launch)]


def start_rekaz_proxy(launch: Launch) -> Proxy:
    port = free_port()
    name = f"rekaz-proxy-{launch.scheme}"
    config = render(launch, "rekaz-proxy.toml.in", f"{name}.toml", port)
    env = {
        "REKAZ_API_KEY": API_KEY,
        "REKAZ_API_SECRET": API_SECRET,
        "REKAZ_TENANT_ID": TENANT_ID,
        "TOKIO_WORKER_THREADS": "1",
        "RUST_LOG": None,
        "REKAZ_API_KEY_FILE": None,
        "REKAZ_API_SECRET_FILE": None,
        "REKAZ_TENANT_ID_FILE": None,
    }
    argv = [str(launch.rekaz_binary), "--config", str(config), "run"]
    # The access lines go to standard output with the start-up lines.
    return _launch(launch, "rekaz-proxy", argv, port, env, access_log_is_stdout=True)


def start_nginx(launch: Launch) -> Proxy:
    port = free_port()
    prefix = launch.run_dir / "nginx"
    prefix.mkdir(exist_ok=True)
    access_log = _access_log(launch, "nginx")
    config = render(launch, "nginx.conf.in", f"nginx/nginx-{launch.scheme}.conf", port, access_log)
    argv = ["nginx", "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")]
    if launch.nginx_single_process:
        argv += ["-g", "master_process off;"]
    return _launch(launch, "nginx", argv, port)


def start_haproxy(launch: Launch) -> Proxy:
    port = free_port()
    config = render(launch, "haproxy.cfg.in", f"haproxy-{launch.scheme}.cfg", port)
    argv = ["haproxy", "-db", "-f", str(config)]
    return _launch(launch, "haproxy", argv, port, access_log_is_stdout=True)


def _access_log(launch: Launch, product: str) -> Path:
    return launch.run_dir / f"{product}-{launch.scheme}-access.log"


def _launch(launch, product, argv, port, env=None, access_log_is_stdout=False) -> Proxy:
    name = f"{product}-{launch.scheme}"
    access_log = _access_log(launch, product)
    stdout_path = access_log if access_log_is_stdout else None
    argv = [*launch.wrapper, *argv]
    process = launch.processes.start(name, argv, launch.cpus, env, stdout_path)
    wait_for_port(port, process, name, launch.start_timeout)
    return Proxy(product, port, process, access_log)


def render(launch: Launch, template: str, output: str, port: int, access_log=None) -> Path:
    """Fills a template from bench/configs and writes it to the run directory."""
    upstream = launch.upstream
    values = {
        "RUN_DIR": str(launch.run_dir),
        "LISTEN_PORT": str(port),
        "UPSTREAM_SCHEME": launch.scheme,
        "UPSTREAM_PORT": str(upstream.port(launch.scheme)),
        "CA_FILE": str(upstream.ca_file),
        "AUTHORIZATION": AUTHORIZATION,
        "TENANT": TENANT_ID,
        "USER_AGENT": USER_AGENT,
        "ACCESS_LOG": str(access_log or ""),
        "SERVER_TLS": _haproxy_tls(launch),
    }
    text = (CONFIG_DIR / template).read_text(encoding="utf-8")
    text = re.sub(r"@([A-Z_]+)@", lambda match: values[match.group(1)], text)
    path = launch.run_dir / output
    path.write_text(text, encoding="utf-8")
    return path


def _haproxy_tls(launch: Launch) -> str:
    if launch.scheme != "https":
        return ""
    ca_file = launch.upstream.ca_file
    return f"ssl verify required ca-file {ca_file} verifyhost localhost sni str(localhost) alpn http/1.1"
