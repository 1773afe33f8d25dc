"""A plain sequential client, for counting a proxy's work per request."""

import http.client

from .load import GET_PATH
from .proxies import CLIENT_AUTHORIZATION, CLIENT_TENANT


def send_sequential(port: int, count: int, path: str = GET_PATH):
    """Sends `count` GET requests one after another on one keep-alive connection.

    Raises RuntimeError on the first response that is not 200.
    """
    headers = {
        "Accept": "application/json",
        "Authorization": CLIENT_AUTHORIZATION,
        "__tenant": CLIENT_TENANT,
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for _ in range(count):
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} on port {port} returned {response.status}: {body[:200]!r}")
    finally:
        connection.close()
