"""Aggregated API servers served from Python: what an APIService's service answers.

    server = AggregatedServer(ca, api, authorize)      # api: the controllers' runtime.Api
    server.route("PUT", r"/apis/g/v1/namespaces/(?P<namespace>[^/]+)/things/(?P<name>[^/]+)/poke", handler)
    port = server.serve(hosts=("svc.ns.svc",))          # serving cert for those names, a 127.0.0.1 port

The API server's aggregator reaches the server through an APIService whose service is an
ExternalName Service naming 127.0.0.1 (the lab has no kube-proxy) and the APIService's port. It
verifies the serving cert for `<service>.<namespace>.svc` against the APIService's caBundle,
presents its front-proxy client certificate and names the user in X-Remote-* headers. As an
aggregated server must, this one trusts for client certs only the request-header CA that
kube-apiserver publishes in kube-system/extension-apiserver-authentication, and reads the
header names there.

``authorize(request) -> None or (code, payload)`` runs before routing (the server's own policy,
usually a SubjectAccessReview, see ``access_review``); a handler returns ``(code, payload)``
where payload is a dict (JSON), a str (plain text) or None (no body). The ``status_*``
functions build the metav1.Status errors apimachinery's ``errors.New*`` build.
"""

import json
import re
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lab import pki

AUTHENTICATION_CONFIGMAP = ("kube-system", "extension-apiserver-authentication")


# --- metav1.Status, as k8s.io/apimachinery/pkg/api/errors builds it --------------------------------

def status(code: int, reason: str, message: str, details: dict = None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


def status_not_found(group: str, resource: str, name: str) -> tuple:
    return 404, status(404, "NotFound", f'{resource}.{group} "{name}" not found',
                       {"name": name, "group": group, "kind": resource})


def status_conflict(group: str, resource: str, name: str, error: str) -> tuple:
    return 409, status(409, "Conflict", f'Operation cannot be fulfilled on {resource}.{group} "{name}": {error}',
                       {"name": name, "group": group, "kind": resource})


def status_bad_request(message: str) -> tuple:
    return 400, status(400, "BadRequest", message)


def status_internal_error(error: str) -> tuple:
    return 500, status(500, "InternalError", f"Internal error occurred: {error}", {"causes": [{"message": error}]})


# --- who asks ---------------------------------------------------------------------------------------

@dataclass
class FrontProxy:
    """The request-header settings of extension-apiserver-authentication."""
    ca_pem: str
    user_headers: list = field(default_factory=list)
    group_headers: list = field(default_factory=list)
    extra_prefixes: list = field(default_factory=list)

    @classmethod
    def read(cls, api) -> "FrontProxy":
        data = api.get("v1", "ConfigMap", AUTHENTICATION_CONFIGMAP[1], AUTHENTICATION_CONFIGMAP[0])["data"]
        if "requestheader-client-ca-file" not in data:
            raise RuntimeError("requestheader-client-ca-file not found in extension-apiserver-authentication "
                               "ConfigMap")
        listed = lambda key: json.loads(data.get(key) or "[]")  # noqa: E731
        return cls(data["requestheader-client-ca-file"], listed("requestheader-username-headers"),
                   listed("requestheader-group-headers"), listed("requestheader-extra-headers-prefix"))


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: object  # email.message.Message: case-insensitive, repeatable
    body: bytes
    authenticated: bool  # the connection carried a client cert the request-header CA signed
    front_proxy: FrontProxy
    params: dict = field(default_factory=dict)  # the route's named groups

    def user(self):
        """The user the front proxy names (None when no user header is set)."""
        for header in self.front_proxy.user_headers:
            values = self.headers.get_all(header)
            if values:
                return values[0]
        return None

    def groups(self):
        for header in self.front_proxy.group_headers:
            values = self.headers.get_all(header)
            if values:
                return values
        return None

    def extra(self) -> dict:
        extra = {}
        for prefix in self.front_proxy.extra_prefixes:
            for key, value in self.headers.items():
                if key.lower().startswith(prefix.lower()):
                    extra.setdefault(urllib.parse.unquote(key[len(prefix):].lower()), []).append(value)
        return extra


def access_review(api, request: Request, attributes: dict) -> dict:
    """Ask the API server (SubjectAccessReview) whether the request's user may do `attributes`."""
    review = api.create({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "metadata": {},
                         "spec": {"user": request.user(), "groups": request.groups(), "extra": request.extra(),
                                  "resourceAttributes": attributes}})
    return review.get("status") or {}


# --- the server ---------------------------------------------------------------------------------------

def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


class _Handler(BaseHTTPRequestHandler):
    server_version = "lab-aggregated"

    def _serve(self):
        url = urllib.parse.urlsplit(self.path)
        request = Request(self.command, url.path, urllib.parse.parse_qs(url.query), self.headers, _read_body(self),
                          bool(self.connection.getpeercert()), self.server.front_proxy)
        try:
            code, payload = self.server.owner.answer(request)
        except Exception as error:  # a broken handler answers loudly instead of hanging the API
            code, payload = status_internal_error(f"lab aggregated server: {error!r}")
        self._write(code, payload)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _serve

    def _write(self, code: int, payload) -> None:
        if payload is None:
            body, content_type = b"", None
        elif isinstance(payload, str):
            body, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            body, content_type = json.dumps(payload).encode(), "application/json"
        self.send_response(code)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):  # the API server's answers say enough
        pass


class AggregatedServer:
    """HTTPS on a free 127.0.0.1 port: client certs verified if given (Go's VerifyClientCertIfGiven,
    so that the aggregator's health checks without one still get through to discovery)."""

    def __init__(self, ca: pki.CA, api, authorize, name: str):
        self.ca = ca
        self.api = api
        self.authorize = authorize
        self.name = name
        self.routes = []  # (method, compiled path, handler)
        self._httpd = None
        self._hosts = None
        self._lock = threading.Lock()

    def route(self, method: str, path: str, handler) -> None:
        self.routes.append((method, re.compile(path + "/?"), handler))

    def answer(self, request: Request) -> tuple:
        denied = self.authorize(request)
        if denied is not None:
            return denied
        methods = set()
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if match:
                methods.add(method)
                if method == request.method:
                    request.params = match.groupdict()
                    return handler(request)
        if methods:
            return 405, "405: Method Not Allowed"  # go-restful's answers
        return 404, "404: Page Not Found"

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def serve(self, hosts) -> int:
        """Serve with a cert for `hosts` (re-issued when they change); return the port."""
        with self._lock:
            if self._httpd is None:
                self._start(hosts)
            elif tuple(hosts) != self._hosts:
                self._load_cert(hosts)
            return self.port

    def _load_cert(self, hosts) -> None:
        serving = self.ca.issue(self.name, hosts[0], hosts=hosts)
        self._context.load_cert_chain(serving.cert, serving.key)
        self._hosts = tuple(hosts)

    def _start(self, hosts) -> None:
        front_proxy = FrontProxy.read(self.api)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.verify_mode = ssl.CERT_OPTIONAL
        self._context.load_verify_locations(cadata=front_proxy.ca_pem)
        self._load_cert(hosts)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.socket = self._context.wrap_socket(httpd.socket, server_side=True)
        httpd.owner, httpd.front_proxy = self, front_proxy
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, daemon=True, name=f"{self.name}:{self.port}").start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
