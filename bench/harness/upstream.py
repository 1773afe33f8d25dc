"""The benchmark upstream (examples/bench_upstream.rs) and its TLS certificate."""

import subprocess
from pathlib import Path

from .processes import Processes, wait_for_line
from .proxies import AUTHORIZATION, TENANT_ID, Upstream


def make_certificates(run_dir: Path) -> tuple[Path, Path, Path]:
    """Creates a private CA and a server certificate for localhost and 127.0.0.1 signed by it.

    Returns the CA certificate, the server certificate and the server key, each valid for two
    days. The CA exists because rustls rejects a self-signed certificate used as the server's.
    """
    ca_cert, ca_key = run_dir / "ca-cert.pem", run_dir / "ca-key.pem"
    cert, key = run_dir / "upstream-cert.pem", run_dir / "upstream-key.pem"
    request = run_dir / "upstream.csr"
    extensions = run_dir / "upstream-extensions.cnf"
    extensions.write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n",
        encoding="ascii",
    )
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        ["openssl", "req", "-x509", *new_key, "-days", "2", "-subj", "/CN=rekaz-bench CA",
         "-keyout", str(ca_key), "-out", str(ca_cert)],
        ["openssl", "req", *new_key, "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(request)],
        ["openssl", "x509", "-req", "-in", str(request), "-CA", str(ca_cert),
         "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2",
         "-extfile", str(extensions), "-out", str(cert)],
    ]
    for command in commands:
        subprocess.run(command, check=True, capture_output=True)
    return ca_cert, cert, key


def start(processes: Processes, run_dir: Path, binary: Path, cpus: str) -> Upstream:
    """Starts bench_upstream with a fresh certificate and returns its ports once it listens."""
    ca_cert, cert, key = make_certificates(run_dir)
    env = {"BENCH_EXPECT_AUTHORIZATION": AUTHORIZATION, "BENCH_EXPECT_TENANT": TENANT_ID}
    argv = [str(binary), "--cert", str(cert), "--key", str(key), "--threads", "1"]
    process = processes.start("upstream", argv, cpus, env)
    line = wait_for_line(run_dir / "upstream.log", process, "bench_upstream")
    addresses = dict(part.split("=", 1) for part in line.split())
    return Upstream(
        http_port=int(addresses["http"].rsplit(":", 1)[1]),
        https_port=int(addresses["https"].rsplit(":", 1)[1]),
        ca_file=ca_cert,
        pids=(process.pid,),
    )
