"""A proxy on 127.0.0.1 in front of the lab's API server that injects the faults a busy cluster gives a client.

Kinds (each at its own rate, drawn per request from a seeded generator, so a run can be replayed):

- ``conflict``: a PATCH or PUT that names the ``metadata.resourceVersion`` it expects is answered 409 "the object
  has been modified" without reaching the server (the API server checks that precondition only when it is given:
  a write without one is never a conflict);
- ``throttle``: any request is answered 429 TooManyRequests with ``Retry-After: 1`` (API Priority and Fairness);
- ``unavailable``: any request is answered 503 or 500 (an API server restarting, an etcd timeout);
- ``reset``: the connection is reset, half the time before the request reaches the server and half the time
  after the server did the work (the reply is lost: a create happened that the client never heard of);
- ``watch_cut``: a watch stream is cut between 0.5 and 3 seconds after it starts (a load balancer's idle timeout).

The statuses are the ones the API server sends (k8s.io/apimachinery/pkg/api/errors: NewConflict,
NewTooManyRequests, NewServiceUnavailable, NewInternalError). The proxy presents a certificate of the lab's CA
and reaches the API server as the lab's admin, so the audit log still shows the automation's user.
``python -m lab.fault_proxy STATE_DIR KIND=RATE ...`` runs one in the foreground.
"""

import json
import random
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from collections import Counter
from http.client import HTTPException, HTTPSConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from lab import pki
from lab.state import Lab

LOOPBACK = "127.0.0.1"
KINDS = ("conflict", "throttle", "unavailable", "reset", "watch_cut")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection"}


def status(code: int, reason: str, message: str) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}).encode()


class FaultProxy:
    """``rates``: {kind: probability per request it applies to}. ``applicable`` counts, by kind, the requests a kind
    could have met (every request, or the preconditioned writes, or the watches); ``injected`` what it met."""

    def __init__(self, lab: Lab, rates: dict, seed: int = 0):
        unknown = set(rates) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
        self.lab, self.rates = lab, dict(rates)
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.injected, self.applicable, self.requests = Counter(), Counter(), 0
        upstream = urllib.parse.urlsplit(lab.api_url)
        self.upstream = (upstream.hostname, upstream.port)
        self.upstream_tls = ssl.create_default_context(cafile=str(lab.path("pki", "ca.crt")))
        self.upstream_tls.load_cert_chain(str(lab.path("pki", "admin.crt")), str(lab.path("pki", "admin.key")))
        serving = lab.ca.issue("fault-proxy", "fault-proxy", hosts=pki.LOOPBACK_NAMES)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(str(serving.cert), str(serving.key))
        self.server = ThreadingHTTPServer((LOOPBACK, 0), _handler(self))
        self.server.daemon_threads = True
        self.server.socket = server_tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = None

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path) -> Path:
        """The lab's kubeconfig with its server turned to the proxy."""
        config = yaml.safe_load(Path(self.lab.kubeconfig).read_text())
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = self.url
        path.write_text(yaml.safe_dump(config))
        return path

    def draw(self, method: str, watch: bool, preconditioned: bool = False):
        """The fault for one request, or None."""
        applies = {"conflict": method in ("PATCH", "PUT") and preconditioned, "watch_cut": watch}
        with self.lock:
            self.requests += 1
            for kind in KINDS:
                if kind in self.rates and applies.get(kind, True):
                    self.applicable[kind] += 1
                if applies.get(kind, True) and self.random.random() < self.rates.get(kind, 0.0):
                    self.injected[kind] += 1
                    return kind, self.random.random()
        return None, 0.0

    def __enter__(self):
        self.thread = threading.Thread(target=self.server.serve_forever, name="fault-proxy", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _names_resource_version(body) -> bool:
    try:
        document = json.loads(body or b"null")
    except ValueError:  # a server-side apply body in YAML: its conflicts are field managers', not versions'
        return False
    return isinstance(document, dict) and bool((document.get("metadata") or {}).get("resourceVersion"))


def _handler(proxy: FaultProxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # the test prints the counts; a line per request would drown them
            pass

        def _any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            watch = query.get("watch", [""])[0] in ("true", "1")
            fault, draw = proxy.draw(self.command, watch, _names_resource_version(body))
            if fault == "conflict":
                return self._answer(409, status(409, "Conflict", "Operation cannot be fulfilled: the object has "
                                                "been modified; please apply your changes to the latest version "
                                                "and try again"))
            if fault == "throttle":
                return self._answer(429, status(429, "TooManyRequests", "Too many requests, please try again "
                                                "later."), {"Retry-After": "1"})
            if fault == "unavailable":
                code = 503 if draw < 0.5 else 500
                return self._answer(code, status(code, "ServiceUnavailable" if code == 503 else "InternalError",
                                                 "the server is currently unable to handle the request"))
            if fault == "reset" and draw < 0.5:
                return self._reset()
            upstream = HTTPSConnection(*proxy.upstream, context=proxy.upstream_tls, timeout=600)
            cut = None
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                reply = upstream.getresponse()
                if fault == "reset":
                    reply.read()
                    return self._reset()
                cut = threading.Timer(0.5 + 2.5 * draw, self._cut, (upstream,)) if fault == "watch_cut" else None
                if cut:
                    cut.start()
                self._relay(reply)
            except (OSError, HTTPException):  # the client went away, or the stream was cut
                self.close_connection = True
            finally:
                if cut:
                    cut.cancel()
                upstream.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def _answer(self, code, body, headers=None):
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _reset(self):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def _cut(self, upstream):
            """Mid-stream, with no final chunk: the client sees its watch break."""
            for sock in (self.connection, upstream.sock):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except (OSError, AttributeError):
                    pass

        def _relay(self, reply):
            self.send_response(reply.status, reply.reason)
            for name, value in reply.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            streaming = reply.getheader("Content-Length") is None
            if not streaming:
                body = reply.read()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                chunk = reply.read1(65536)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

    return Handler


def main(argv):
    lab = Lab.load(Path(argv[0]))
    rates = {kind: float(rate) for kind, rate in (item.split("=", 1) for item in argv[1:])}
    with FaultProxy(lab, rates) as proxy:
        print(proxy.kubeconfig(lab.path("kubeconfig-faults")), proxy.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print(dict(proxy.injected), "of", proxy.requests, "requests")


if __name__ == "__main__":
    main(sys.argv[1:])
