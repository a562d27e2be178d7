"""The fault proxy answers as the API server does when it is busy or contended, and only where it would.

Upstream: a 409 Conflict comes only from a write that names the resourceVersion it expects
(k8s.io/apiserver pkg/registry/generic/registry/store.go, ``Store.Update``: a zero resourceVersion is an
unconditional update where the strategy allows it, as for ConfigMaps); a throttled request gets 429 with
``Retry-After`` (k8s.io/apimachinery pkg/api/errors/errors.go, ``NewTooManyRequests``).
"""

import json
import ssl
from http.client import HTTPSConnection
from urllib.parse import urlsplit

from lab.fault_proxy import FaultProxy

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def _send(proxy, lab, method, path, body=None):
    address = urlsplit(proxy.url)
    tls = ssl.create_default_context(cafile=str(lab.path("pki", "ca.crt")))
    connection = HTTPSConnection(address.hostname, address.port, context=tls, timeout=30)
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=MERGE_PATCH)
        reply = connection.getresponse()
        return reply.status, dict(reply.getheaders()), json.loads(reply.read() or b"{}")
    finally:
        connection.close()


def test_conflicts_only_for_writes_that_name_a_resource_version(lab, core_v1, namespace):
    made = core_v1.create_namespaced_config_map(namespace, {"metadata": {"name": "c"}, "data": {"k": "0"}})
    path = f"/api/v1/namespaces/{namespace}/configmaps/c"
    with FaultProxy(lab, {"conflict": 1.0}) as proxy:
        code, _headers, answer = _send(proxy, lab, "PATCH", path, {
            "metadata": {"resourceVersion": made.metadata.resource_version}, "data": {"k": "1"}})
        assert (code, answer["reason"]) == (409, "Conflict")
        assert core_v1.read_namespaced_config_map("c", namespace).data == {"k": "0"}

        code, _headers, answer = _send(proxy, lab, "PATCH", path, {"data": {"k": "2"}})
        assert code == 200 and answer["data"] == {"k": "2"}
        assert proxy.injected == {"conflict": 1}
    assert core_v1.read_namespaced_config_map("c", namespace).data == {"k": "2"}


def test_throttled_requests_say_when_to_come_back(lab, namespace):
    with FaultProxy(lab, {"throttle": 1.0}) as proxy:
        code, headers, answer = _send(proxy, lab, "GET", f"/api/v1/namespaces/{namespace}/configmaps")
    assert (code, answer["reason"], headers.get("Retry-After")) == (429, "TooManyRequests", "1")
