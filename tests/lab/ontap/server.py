"""The stand-in's HTTPS front and lifecycle.

The standard library's ThreadingHTTPServer with an ssl context is all ONTAP's wire protocol
needs (HTTP/1.1, Basic auth, JSON), adds no dependency, and keeps the lab's moving parts few.
Requests are served on their own threads; the API layer serialises access to the state.
"""

import ipaddress
import json
import os
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import resources, seed, tls
from .api import Api
from .store import Store

ENDPOINT_FILE = "endpoint.json"
ACCESS_LOG = "access.log"
_DATA_SERVICES = frozenset({"data_nfs", "data_iscsi", "data_nvme_tcp"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "libzapid-httpd"
    sys_version = ""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        response = self.server.api.handle(self.command, self.path, self.headers, raw)
        if isinstance(response.body, str):
            payload = response.body.encode()
        else:
            payload = json.dumps(response.body if response.body is not None else {}).encode()
        json_type = "application/json" if "application/json" in self.headers.get("Accept", "") \
            else "application/hal+json"
        self.send_response(response.status)
        headers = {"Content-Type": json_type, "Cache-Control": "no-cache,no-store,must-revalidate",
                   **response.headers, "Content-Length": str(len(payload))}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        self.server.log(f"{self.address_string()} {format % args}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, api: Api, context: ssl.SSLContext, log_path: Path):
        super().__init__(address, _Handler)
        self.api = api
        self.log_path = log_path
        self.log_lock = threading.Lock()
        self.connections: set = set()
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def process_request(self, request, client_address) -> None:
        with self.log_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self.log_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End kept-alive connections, so a stopped stand-in answers nobody."""
        with self.log_lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def finish_request(self, request, client_address) -> None:
        # The TLS handshake runs here, on the request's thread, so a slow client never stalls accept().
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            self.log(f"{client_address[0]} TLS handshake failed: {exc}")
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        self.log(f"{client_address[0]} connection error")

    def log(self, line: str) -> None:
        with self.log_lock, open(self.log_path, "a") as handle:
            handle.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")


def _parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the ONTAP stand-in only listens on loopback addresses, not {host}")
    return host, int(port)


class OntapServer:
    """One stand-in on one state directory: seeds it when empty, serves it over HTTPS."""

    def __init__(self, state_dir, listen: str = "127.0.0.1:0", tls_cert=None, tls_key=None, tls_ca=None):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.address = _parse_listen(listen)
        if bool(tls_cert) != bool(tls_key):
            raise ValueError("give both --tls-cert and --tls-key, or neither")
        if tls_cert:
            self.cert, self.key = Path(tls_cert), Path(tls_key)
            self.ca = Path(tls_ca) if tls_ca else self.cert
        else:
            self.ca, self.cert, self.key = tls.ensure_certificates(self.state_dir)
        self.store = Store(self.state_dir)
        self.api = Api(self.store, resources.build())
        if self.store.empty:
            seed.seed(self.store, self.state_dir, self.api.resources)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def bind(self) -> dict:
        """Listen, then publish endpoint.json; returns what it says."""
        (self.state_dir / ENDPOINT_FILE).unlink(missing_ok=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        self._httpd = _Server(self.address, self.api, context, self.state_dir / ACCESS_LOG)
        endpoint = self.describe()
        tmp = self.state_dir / (ENDPOINT_FILE + ".tmp")
        tmp.write_text(json.dumps(endpoint, indent=2) + "\n")
        tmp.chmod(0o600)
        os.replace(tmp, self.state_dir / ENDPOINT_FILE)
        return endpoint

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def start(self) -> dict:
        endpoint = self.bind()
        self._thread = threading.Thread(target=self.serve_forever, name="ontap-stand-in", daemon=True)
        self._thread.start()
        return endpoint

    def stop(self) -> None:
        if self._httpd:
            if self._thread:
                self._httpd.shutdown()
                self._thread.join()
            self._httpd.server_close()
            self._httpd.close_connections()
            self._httpd = None
        (self.state_dir / ENDPOINT_FILE).unlink(missing_ok=True)

    def describe(self) -> dict:
        host, port = self._httpd.server_address[:2]
        tables = self.store.data["tables"]
        svms = {}
        for svm in tables["svms"]:
            lifs: dict = {}
            for lif in tables["ip_interfaces"]:
                if lif["svm"]["uuid"] == svm["uuid"]:
                    for protocol in _DATA_SERVICES.intersection(lif["services"]):
                        lifs.setdefault(protocol[len("data_"):], []).append(lif["ip"]["address"])
            svms[svm["name"]] = {"uuid": svm["uuid"], "aggregates": [a["name"] for a in svm["aggregates"]],
                                 "protocols": [p for p in ("nfs", "iscsi", "nvme", "fcp", "cifs")
                                               if svm[p]["allowed"]],
                                 "data_lifs": lifs}
        cluster = tables["cluster"][0]
        return {
            "url": f"https://{host}:{port}",
            "hostname": host,
            "http_port": port,
            "management_lif": f"{host}:{port}",
            "ca_cert": str(self.ca),
            "cluster_name": cluster["name"],
            "version": "{generation}.{major}.{minor}".format(**cluster["version"]),
            **seed.credentials(self.state_dir),
            "svms": svms,
            "data_lifs": svms.get("svm_virt", {}).get("data_lifs", {}),
            "aggregates": [a["name"] for a in tables["aggregates"]],
            "state_dir": str(self.state_dir),
            "pid": os.getpid(),
        }
