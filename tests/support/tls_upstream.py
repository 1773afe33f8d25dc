"""HTTPS upstream for tests: answers every GET with what it received, minus header values
that could be secrets.

Usage: tls_upstream.py CERT_PEM KEY_PEM. Listens on 127.0.0.1 on a free port and prints the
port on the first line of standard output.
"""

import http.server
import json
import ssl
import sys


class EchoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        report = {
            "path": self.path,
            "host": self.headers.get("Host"),
            "tenant": self.headers.get("__tenant"),
            "authorization_count": len(self.headers.get_all("Authorization") or []),
            "user_agent": self.headers.get("User-Agent"),
        }
        body = json.dumps(report).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main():
    cert, key = sys.argv[1], sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
