"""Checks that every proxy does the same header work before any load is timed.

Each proxy gets two requests to the upstream's /headers echo, carrying the headers a careless
client would send, and the echo shows what reached the upstream.
"""

import http.client
import json

from .proxies import AUTHORIZATION, CLIENT_AUTHORIZATION, CLIENT_TENANT, TENANT_ID, USER_AGENT

CLIENT_CORRELATION_ID = "bench-client-correlation-id"

# Checks that must pass for the comparison to be fair; a failure stops the run.
REQUIRED = (
    "replaces Authorization",
    "replaces __tenant",
    "drops Proxy-Authorization",
    "replaces User-Agent",
    "keeps the client's X-Correlation-Id",
    "adds one X-Correlation-Id",
)
# Recorded on the page, but not required.
INFORMATIONAL = ("drops headers named in Connection",)


def echo(port: int, with_correlation_id: bool) -> dict:
    """Sends one request through the proxy on `port` and returns the headers the upstream saw."""
    headers = {
        "Authorization": CLIENT_AUTHORIZATION,
        "__tenant": CLIENT_TENANT,
        "Proxy-Authorization": "Basic eDp5",
        "User-Agent": "Python-urllib/3.11",
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "1",
    }
    if with_correlation_id:
        headers["X-Correlation-Id"] = CLIENT_CORRELATION_ID
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/headers", headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"/headers through port {port} returned {response.status}: {body[:200]!r}")
    return json.loads(body)


def check(port: int) -> dict[str, bool]:
    """Returns each check's name and whether the proxy on `port` passed it."""
    forwarded = echo(port, with_correlation_id=True)
    without_id = echo(port, with_correlation_id=False)
    return {
        "replaces Authorization": forwarded.get("authorization") == [AUTHORIZATION],
        "replaces __tenant": forwarded.get("__tenant") == [TENANT_ID],
        "drops Proxy-Authorization": "proxy-authorization" not in forwarded,
        "replaces User-Agent": forwarded.get("user-agent") == [USER_AGENT],
        "keeps the client's X-Correlation-Id":
            forwarded.get("x-correlation-id") == [CLIENT_CORRELATION_ID],
        "adds one X-Correlation-Id": len(without_id.get("x-correlation-id", [])) == 1,
        "drops headers named in Connection": "x-hop" not in forwarded,
    }


def failures(results: dict[str, bool]) -> list[str]:
    """Names the required checks that failed."""
    return [name for name in REQUIRED if not results.get(name)]
