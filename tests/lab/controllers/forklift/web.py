"""The inventory REST service (pkg/controller/provider/web at v2.12.5), HTTPS on 127.0.0.1.

Paths: `/providers`, `/providers/<type>`, `/providers/<type>/<uid>`, and for vSphere
`/providers/vsphere/<uid>/<kind>[/<id>]` with kind vms, hosts, datastores, networks,
clusters, datacenters, folders; `?name=` filters lists by name (the last path segment).
As upstream (handler Prepare): an unknown provider UID is 404 with `X-Reason:
ProviderNotFound`; a provider whose collector has not loaded yet is 206 with no body after
waiting up to 10 s; then the bearer token is checked (TokenReview, then a
SubjectAccessReview for `get` on that Provider, or `list` providers for lists) when
`feature_auth_required` is true: 401 without a valid token, 403 when not allowed. VM lists
skip templates and VMs with neither uuid, instanceUuid nor host.
"""

import json
import re
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lab.controllers.forklift.operator import current_settings
from lab.controllers.runtime import log

PARITY_WAIT_SECONDS = 10.0
VSPHERE_KINDS = ("vms", "hosts", "datastores", "networks", "clusters", "datacenters", "folders")
_PATH = re.compile(r"^/providers(?:/(?P<type>[^/]+)(?:/(?P<uid>[^/]+)(?:/(?P<kind>[^/]+)(?:/(?P<id>[^/]+))?)?)?)?/?$")


class InventoryServer:
    def __init__(self, api, collectors, port: int, cert: str, key: str):
        self.api = api
        self.collectors = collectors
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.inventory = self

    def start(self) -> "InventoryServer":
        threading.Thread(target=self._httpd.serve_forever, daemon=True, name="forklift-inventory").start()
        log.info("forklift: inventory at https://127.0.0.1:%d", self._httpd.server_address[1])
        return self

    # --- answers: (status, body or None, headers) --------------------------------------------

    def answer(self, path: str, query: dict, token: str):
        match = _PATH.match(path)
        if match is None:
            return 404, None, {}
        collector = None
        if match["uid"]:
            collector = self.collectors.by_uid(match["uid"])
            if collector is None or collector.type != match["type"]:
                return 404, None, {"X-Reason": "ProviderNotFound"}
            if not collector.wait_parity(PARITY_WAIT_SECONDS):
                return 206, None, {}
        denied = self._permit(token, collector, query.get("namespace", ""))
        if denied:
            return denied, None, {}
        if collector is None:
            return 200, self._providers(match["type"], query), {}
        if not match["kind"]:
            return 200, self._provider(collector), {}
        return self._resources(collector, match["kind"], match["id"], query)

    def _providers(self, type_, query):
        namespace = query.get("namespace")
        listed = {}
        for collector in self.collectors.all():
            if namespace and collector.provider["metadata"]["namespace"] != namespace:
                continue
            listed.setdefault(collector.type, []).append(self._provider(collector))
        return listed.get(type_, []) if type_ else listed

    def _provider(self, collector) -> dict:
        meta = collector.provider["metadata"]
        record = {"uid": meta["uid"], "version": meta.get("resourceVersion", ""), "namespace": meta["namespace"],
                  "name": meta["name"], "selfLink": f"providers/{collector.type}/{meta['uid']}",
                  "type": collector.type, "object": collector.provider}
        if collector.type == "vsphere":
            record.update(apiVersion=collector.about.get("apiVersion", ""), product=collector.about.get("product", ""),
                          instanceUuid=collector.about.get("instanceUuid", ""),
                          **{f"{kind}Count": len(collector.documents(f"{kind}s"))
                             for kind in ("datacenter", "cluster", "host", "vm", "network", "datastore")})
        return record

    def _resources(self, collector, kind, id_, query):
        if collector.type != "vsphere" or kind not in VSPHERE_KINDS:
            return 404, None, {}
        documents = collector.documents(kind)
        if id_:
            found = documents.get(id_)
            return (200, found, {}) if found else (404, None, {})
        listed = list(documents.values())
        if kind == "vms":
            listed = [vm for vm in listed if not vm["isTemplate"] and (vm["uuid"] or vm["instanceUuid"] or vm["host"])]
        if "name" in query:
            wanted = query["name"].rstrip("/").rsplit("/", 1)[-1]
            listed = [doc for doc in listed if doc["name"] == wanted]
        return 200, listed, {}

    # --- auth (web/base/auth.go) ----------------------------------------------------------------

    def _permit(self, token: str, collector, namespace: str):
        settings = current_settings(self.api)
        if settings is None:
            return 503
        if not settings.auth_required:
            return None
        if not token:
            return 401
        review = self.api.create({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "metadata": {},
                                  "spec": {"token": token}})
        status = review.get("status") or {}
        if not status.get("authenticated"):
            return 401
        user = status.get("user") or {}
        attributes = {"group": "forklift.konveyor.io", "resource": "providers"}
        if collector is not None:
            meta = collector.provider["metadata"]
            attributes.update(verb="get", namespace=meta["namespace"], name=meta["name"])
        else:
            attributes.update(verb="list", namespace=namespace)
        access = self.api.create({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                                  "metadata": {},
                                  "spec": {"resourceAttributes": attributes, "user": user.get("username"),
                                           "groups": user.get("groups") or [], "uid": user.get("uid"),
                                           "extra": user.get("extra") or {}}})
        return None if (access.get("status") or {}).get("allowed") else 403


class _Handler(BaseHTTPRequestHandler):
    server_version = "forklift-inventory"

    def do_GET(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        fields = (self.headers.get("Authorization") or "").split()
        token = fields[1] if len(fields) == 2 and fields[0] == "Bearer" else ""
        try:
            status, body, headers = self.server.inventory.answer(parsed.path, query, token)
        except Exception:
            log.exception("forklift: inventory request %s failed", self.path)
            status, body, headers = 500, None, {}
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        pass
