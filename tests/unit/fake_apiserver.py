"""A small in-memory Kubernetes API server for unit tests and benchmarks.

It speaks the parts of the API our module_utils use — discovery, get, list with a
name field selector, create, JSON merge patch with resourceVersion preconditions,
delete, dry runs, and watch streams — and it records every request in order, so
tests assert on what crossed the HTTP boundary. Failures can be scripted per
request (``fail_next``), and objects changed from the test side (``update``) are
streamed to open watches at once.
"""

import copy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CORE_RESOURCES = [
    {"name": "configmaps", "singularName": "configmap", "namespaced": True, "kind": "ConfigMap",
     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
    {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret",
     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
    {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
    {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
    {"name": "pods/eviction", "singularName": "", "namespaced": True, "group": "policy", "version": "v1",
     "kind": "Eviction", "verbs": ["create"]},
]
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
WIDGET_GROUP, WIDGET_VERSION = "example.com", "v1"


def _resources(*kinds):
    """API resources for (Kind, plural, namespaced)."""
    return [{"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind, "verbs": VERBS}
            for kind, plural, namespaced in kinds]


WIDGET_RESOURCES = _resources(("Widget", "widgets", True))
# The group versions served besides the core API: enough for the OLM, KubeVirt and CDI kinds modules read.
GROUP_VERSIONS = {
    WIDGET_GROUP + "/" + WIDGET_VERSION: WIDGET_RESOURCES,
    "operators.coreos.com/v1": _resources(("OperatorGroup", "operatorgroups", True)),
    "operators.coreos.com/v1alpha1": _resources(
        ("Subscription", "subscriptions", True), ("InstallPlan", "installplans", True),
        ("ClusterServiceVersion", "clusterserviceversions", True)),
    "kubevirt.io/v1": _resources(("VirtualMachine", "virtualmachines", True)),
    "cdi.kubevirt.io/v1beta1": _resources(("DataVolume", "datavolumes", True),
                                          ("DataImportCron", "dataimportcrons", True),
                                          ("DataSource", "datasources", True)),
}
_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<namespace>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?$")

_EVICTION = re.compile(r"^/api/v1/namespaces/(?P<namespace>[^/]+)/pods/(?P<name>[^/]+)/eviction$")


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Store:
    def __init__(self):
        self.lock = threading.Condition()
        self.objects = {}  # (plural, namespace, name) -> object
        self.events = []  # (resourceVersion:int, type, plural, namespace, object)
        self.revision = 100

    def commit(self, event_type, plural, namespace, obj):
        with self.lock:
            self.revision += 1
            obj["metadata"]["resourceVersion"] = str(self.revision)
            key = (plural, namespace, obj["metadata"]["name"])
            if event_type == "DELETED":
                self.objects.pop(key, None)
            else:
                self.objects[key] = obj
            self.events.append((self.revision, event_type, plural, namespace, copy.deepcopy(obj)))
            self.lock.notify_all()
            return copy.deepcopy(obj)


class FakeAPIServer:
    def __init__(self, stream_delay=0.0, group_versions=None, tls=None):
        self.group_versions = dict(GROUP_VERSIONS if group_versions is None else group_versions)
        self.prune = None  # body -> body: what the server keeps of a write (as a CRD's schema prunes unknown fields)
        self.store = Store()
        self.requests = []
        self._bodies = []
        self._failures = []
        self.stream_delay = stream_delay
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server._handle(self, "GET")

            def do_POST(self):
                server._handle(self, "POST")

            def do_PATCH(self):
                server._handle(self, "PATCH")

            def do_DELETE(self):
                server._handle(self, "DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        scheme = "http"
        if tls:  # (certificate file, key file): serve HTTPS with that identity
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = "{0}://127.0.0.1:{1}".format(scheme, self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        with self.store.lock:
            self.store.lock.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- test side -------------------------------------------------------------------------------------
    def fail_next(self, method, path_regex, status, body=None, headers=None, times=1):
        """The next ``times`` requests matching method and path get this error instead."""
        self._failures.append([method, re.compile(path_regex), status, body, headers or {}, times])

    def put(self, plural, obj):
        """Create or replace an object directly (no request recorded)."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", "uid-" + meta["name"])
        meta.setdefault("generation", 1)
        exists = self.get(plural, meta.get("namespace"), meta["name"]) is not None
        return self.store.commit("MODIFIED" if exists else "ADDED", plural, meta.get("namespace"), obj)

    def update(self, plural, namespace, name, patch):
        current = self.get(plural, namespace, name)
        return self.store.commit("MODIFIED", plural, namespace, merge_patch(current, patch))

    def remove(self, plural, namespace, name):
        current = self.get(plural, namespace, name)
        self.store.commit("DELETED", plural, namespace, current)

    def expire_watches(self):
        """Make every open and future watch from an older revision answer 410 Gone."""
        with self.store.lock:
            self.store.events.append((self.store.revision, "EXPIRE", None, None, None))
            self.store.lock.notify_all()

    def get(self, plural, namespace, name):
        found = self.store.objects.get((plural, namespace, name))
        return copy.deepcopy(found) if found else None

    def requests_with_bodies(self):
        return [request + (body,) for request, body in zip(self.requests, self._bodies)]

    def calls(self, method=None):
        return [(m, p) for m, p, _query in self.requests if method is None or m == method]

    # ---- HTTP side -------------------------------------------------------------------------------------
    def _handle(self, handler, method):
        split = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        self.requests.append((method, split.path, query))
        self._bodies.append(body)
        for failure in self._failures:
            f_method, f_path, status, f_body, f_headers, times = failure
            if f_method == method and f_path.search(split.path) and times > 0:
                failure[5] -= 1
                return self._send(handler, status, f_body or self._status(status, "scripted failure"), f_headers)
        if split.path == "/version":
            return self._send(handler, 200, {"major": "1", "minor": "34", "gitVersion": "v1.34.0"})
        if split.path == "/api":
            return self._send(handler, 200, {"kind": "APIVersions", "versions": ["v1"]})
        if split.path == "/apis":
            return self._send(handler, 200, self._group_list())
        if split.path == "/api/v1":
            return self._send(handler, 200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": CORE_RESOURCES})
        if split.path.startswith("/apis/") and split.path[len("/apis/"):] in self.group_versions:
            group_version = split.path[len("/apis/"):]
            return self._send(handler, 200, {"kind": "APIResourceList", "groupVersion": group_version,
                                             "resources": self.group_versions[group_version]})
        eviction = _EVICTION.match(split.path)
        if eviction and method == "POST":  # the pod goes at once (no disruption budget, no grace period here)
            pod = self.get("pods", eviction.group("namespace"), eviction.group("name"))
            if pod is None:
                return self._send(handler, 404, self._not_found("pods", eviction.group("name")))
            self.store.commit("DELETED", "pods", eviction.group("namespace"), pod)
            return self._send(handler, 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                             "code": 201})
        match = _PATH.match(split.path)
        if not match:
            return self._send(handler, 404, self._status(404, "the server could not find the requested resource"))
        plural, namespace, name = match.group("plural"), match.group("namespace"), match.group("name")
        served = CORE_RESOURCES if match.group("group") is None else self.group_versions.get(
            "{0}/{1}".format(match.group("group"), match.group("version")), [])
        kind = next((r["kind"] for r in served if r["name"] == plural), None)
        if kind is None:
            return self._send(handler, 404, self._status(404, "the server could not find the requested resource"))
        dry_run = query.get("dryRun") == "All"
        if method == "DELETE" and body:  # like the real server: a DeleteOptions body overrides the query
            dry_run = (body.get("dryRun") or []) == ["All"]
        if method == "GET" and query.get("watch") in ("true", "True", "1"):
            return self._watch(handler, plural, namespace, query)
        if method == "GET" and name is None:
            return self._list(handler, plural, namespace, kind, query)
        if method == "GET":
            found = self.get(plural, namespace, name)
            if not found:
                return self._send(handler, 404, self._not_found(plural, name))
            return self._send(handler, 200, found)
        if method == "POST":
            body = self.prune(body) if self.prune else body
            meta = body["metadata"]
            if self.get(plural, namespace, meta["name"]):
                return self._send(handler, 409, self._status(409, '{0} "{1}" already exists'.format(plural, meta["name"]),
                                                             "AlreadyExists"))
            meta.update({"namespace": namespace, "uid": "uid-" + meta["name"], "generation": 1,
                         "creationTimestamp": "2026-11-26T00:00:00Z"})
            if namespace is None:
                meta.pop("namespace")
            if dry_run:
                body["metadata"]["resourceVersion"] = ""
                return self._send(handler, 201, body)
            return self._send(handler, 201, self.store.commit("ADDED", plural, namespace, body))
        current = self.get(plural, namespace, name)
        if current is None:
            return self._send(handler, 404, self._not_found(plural, name))
        if method == "PATCH":
            wanted_version = (body.get("metadata") or {}).get("resourceVersion")
            if wanted_version and wanted_version != current["metadata"]["resourceVersion"]:
                return self._send(handler, 409, self._status(
                    409, 'Operation cannot be fulfilled on {0} "{1}": the object has been modified'.format(plural, name),
                    "Conflict"))
            patched = merge_patch(current, body)
            patched = self.prune(patched) if self.prune else patched
            if patched.get("spec") != current.get("spec"):
                patched["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
            if dry_run:
                return self._send(handler, 200, patched)
            return self._send(handler, 200, self.store.commit("MODIFIED", plural, namespace, patched))
        if method == "DELETE":
            if dry_run:
                return self._send(handler, 200, current)
            self.store.commit("DELETED", plural, namespace, current)
            return self._send(handler, 200, self._status(200, "deleted", "Success"))
        return self._send(handler, 405, self._status(405, "method not allowed"))

    def _group_list(self):
        groups = {}
        for group_version in sorted(self.group_versions):
            group, version = group_version.split("/")
            groups.setdefault(group, []).append({"groupVersion": group_version, "version": version})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": group, "versions": versions, "preferredVersion": versions[0]} for group, versions in groups.items()]}

    def _selected(self, obj, query):
        selector = query.get("fieldSelector")
        return not selector or selector == "metadata.name={0}".format(obj["metadata"]["name"])

    def _list(self, handler, plural, namespace, kind, query):
        with self.store.lock:
            items = [copy.deepcopy(o) for (p, ns, _name), o in sorted(self.store.objects.items())
                     if p == plural and (namespace is None or ns == namespace) and self._selected(o, query)]
            revision = str(self.store.revision)
        return self._send(handler, 200, {"kind": kind + "List", "apiVersion": "v1",
                                         "metadata": {"resourceVersion": revision}, "items": items})

    def _watch(self, handler, plural, namespace, query):
        since = int(query.get("resourceVersion") or 0)
        deadline = time.monotonic() + int(query.get("timeoutSeconds") or 30)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()

        def chunk(payload):
            data = (json.dumps(payload) + "\n").encode()
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            handler.wfile.flush()

        position = 0
        try:
            while True:
                with self.store.lock:
                    pending = self.store.events[position:]
                    position = len(self.store.events)
                    if not pending:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        self.store.lock.wait(remaining)
                        continue
                for revision, event_type, p, ns, obj in pending:
                    if event_type == "EXPIRE":
                        chunk({"type": "ERROR", "object": self._status(410, "too old resource version", "Expired")})
                        return self._end_chunks(handler)
                    if revision <= since or p != plural or (namespace and ns != namespace) \
                            or not self._selected(obj, query):
                        continue
                    if self.stream_delay:
                        time.sleep(self.stream_delay)
                    chunk({"type": event_type, "object": obj})
            self._end_chunks(handler)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _end_chunks(handler):
        try:
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _status(code, message, reason=""):
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}

    def _not_found(self, plural, name):
        return self._status(404, '{0} "{1}" not found'.format(plural, name), "NotFound")

    @staticmethod
    def _send(handler, status, payload, headers=None):
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)
