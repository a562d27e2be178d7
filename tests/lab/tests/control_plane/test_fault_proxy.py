"""The fault proxy answers as the API server does when it is busy or contended, and only where it would.

Upstream: a 409 Conflict comes only from a write that names the resourceVersion it expects
(k8s.io/apiserver pkg/registry/generic/registry/store.go, ``Store.Update``: a zero resourceVersion is an
unconditional update where the strategy allows it, as for ConfigMaps); a throttled request gets 429 with
``Retry-After`` (k8s.io/apimachinery pkg/api/errors/errors.go, ``NewTooManyRequests``); a watch may end at any
moment and clients must expect it (k8s.io/client-go tools/cache/reflector.go, ``watchHandler``: a closed watch
is not an error, the reflector watches again).
"""

import json
import ssl
import time
from http.client import HTTPSConnection
from urllib.parse import urlsplit

from kubernetes import client, config, watch
from urllib3.exceptions import ProtocolError

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
        assert proxy.injected == {"conflict": 1} and proxy.applicable == {"conflict": 1}
    assert core_v1.read_namespaced_config_map("c", namespace).data == {"k": "2"}


def test_throttled_requests_say_when_to_come_back(lab, namespace):
    with FaultProxy(lab, {"throttle": 1.0}) as proxy:
        code, headers, answer = _send(proxy, lab, "GET", f"/api/v1/namespaces/{namespace}/configmaps")
    assert (code, answer["reason"], headers.get("Retry-After")) == (429, "TooManyRequests", "1")


def test_watches_of_the_python_client_are_cut(lab, namespace, tmp_path):
    """The Python client asks for ``watch=True`` (capitalised): the proxy must see it as a watch and cut it."""
    with FaultProxy(lab, {"watch_cut": 1.0}) as proxy:
        api = client.CoreV1Api(config.new_client_from_config(str(proxy.kubeconfig(tmp_path / "kubeconfig"))))
        started = time.monotonic()
        try:
            for _event in watch.Watch().stream(api.list_namespaced_config_map, namespace, timeout_seconds=30):
                pass
        except ProtocolError:
            pass
        assert time.monotonic() - started < 10
        assert proxy.injected == {"watch_cut": 1}
