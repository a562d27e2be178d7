"""Admission webhooks served from Python: an HTTPS server the API server trusts via caBundle.

    server = WebhookServer(lab.ca)
    server.route("/deny-foo", lambda request: deny("no foo") if ... else allow())
    server.start()
    register(api, "Validating", "deny-foo.lab.example.com", server.url("/deny-foo"),
             server.ca_bundle, rules=[rule(["v1"], ["configmaps"])])

A handler gets the AdmissionReview `request` dict and returns `allow()`, `deny(message)`
or `mutate(json_patch_operations)`.
"""

import base64
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kubernetes.client import ApiClient

from lab import pki, rest


def allow(warnings=()) -> dict:
    return {"allowed": True, "warnings": list(warnings)}


def deny(message: str, code: int = 403) -> dict:
    return {"allowed": False, "status": {"code": code, "message": message}}


def mutate(operations: list, warnings=()) -> dict:
    patch = base64.b64encode(json.dumps(operations).encode()).decode()
    return {"allowed": True, "patchType": "JSONPatch", "patch": patch, "warnings": list(warnings)}


class _Handler(BaseHTTPRequestHandler):
    server_version = "lab-webhooks"

    def do_POST(self):
        handler = self.server.routes.get(self.path.split("?")[0])
        if handler is None:
            self.send_error(404)
            return
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        request = review["request"]
        try:
            response = handler(request)
        except Exception as error:  # a broken handler denies loudly instead of hanging the API
            response = deny(f"webhook {self.path} failed: {error!r}", code=500)
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                           "response": {"uid": request["uid"], **response}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # the API server's errors say enough
        pass


class WebhookServer:
    """HTTPS on a free 127.0.0.1 port, with a serving cert from the lab CA."""

    def __init__(self, ca: pki.CA, name: str = "webhooks"):
        self.ca = ca  # for other servers of the same process (aggregation.AggregatedServer)
        self.ca_bundle = base64.b64encode(ca.cert_pem).decode()
        serving = ca.issue(name, name, hosts=pki.LOOPBACK_NAMES)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(serving.cert, serving.key)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.routes = {}
        self._thread = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def route(self, path: str, handler) -> None:
        self._httpd.routes[path] = handler

    def start(self) -> "WebhookServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name=f"webhooks:{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def rule(api_versions, resources, api_groups=("",),
         operations=("CREATE", "UPDATE"), scope="*") -> dict:
    return {"apiGroups": list(api_groups), "apiVersions": list(api_versions),
            "resources": list(resources), "operations": list(operations), "scope": scope}


_KINDS = {"Validating": "validatingwebhookconfigurations",
          "Mutating": "mutatingwebhookconfigurations"}


def register(api: ApiClient, kind: str, name: str, url: str, ca_bundle: str, rules,
             failure_policy: str = "Fail", **webhook_fields) -> dict:
    """Create or update a `<kind>WebhookConfiguration` named `name` with one webhook at `url`.

    `name` must be a domain-like name with three or more parts, as the API demands of
    webhook names. Extra fields (namespaceSelector, objectSelector, ...) pass through.
    """
    webhook = {
        "name": name, "clientConfig": {"url": url, "caBundle": ca_bundle},
        "rules": list(rules), "failurePolicy": failure_policy, "sideEffects": "None",
        "admissionReviewVersions": ["v1"], "timeoutSeconds": 10, **webhook_fields,
    }
    configuration = {"apiVersion": "admissionregistration.k8s.io/v1",
                     "kind": f"{kind}WebhookConfiguration",
                     "metadata": {"name": name}, "webhooks": [webhook]}
    return rest.apply(api, _KINDS[kind], configuration)


def unregister(api: ApiClient, kind: str, name: str) -> None:
    rest.request(api, "DELETE",
                 f"/apis/admissionregistration.k8s.io/v1/{_KINDS[kind]}/{name}")
