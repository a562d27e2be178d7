"""Simulated virt-operator (KubeVirt v1.8.4): the APIServices of virt-api's aggregated API.

While the KubeVirt CR is Deployed, `v1.subresources.kubevirt.io` and `v1alpha3.subresources.kubevirt.io`
are registered as `pkg/virt-operator/resource/generate/components/apiservices.go`
`NewVirtAPIAPIServices` builds them (service `virt-api` in the install namespace, group priority
1000, version priority 15, the virt-api cert secret annotation), with the CA bundle virt-operator
injects. Deleting the KubeVirt CR removes them and the Service.

What differs, because the lab has no pods and no kube-proxy: the `virt-api` Service is an
ExternalName Service naming 127.0.0.1 (the aggregator dials the external name), and the APIService
names the port the lab's server listens on (upstream's omits it: 443). The server
(subresources.py on aggregation.AggregatedServer) holds a cert for `virt-api.<namespace>.svc`,
as virt-api's does (`secrets.go`, the VirtApiCertSecretName key pair).
"""

from lab import aggregation
from lab.controllers.kubevirt import subresources
from lab.controllers.runtime import Controller, log

KUBEVIRT = ("kubevirt.io/v1", "KubeVirt")
API_SERVICE = ("apiregistration.k8s.io/v1", "APIService")
SERVICE_NAME = "virt-api"
MANAGED = {"app.kubernetes.io/managed-by": "virt-operator"}


def serving_hosts(namespace: str) -> tuple:
    """The names virt-api's serving cert carries (triple.NewServerKeyPair for virt-api)."""
    return (f"{SERVICE_NAME}.{namespace}.svc", SERVICE_NAME, f"{SERVICE_NAME}.{namespace}",
            f"{SERVICE_NAME}.{namespace}.svc.cluster.local", f"{SERVICE_NAME}.{namespace}.pod.cluster.local")


def service(namespace: str, port: int) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": SERVICE_NAME, "namespace": namespace,
                         "labels": {"kubevirt.io": SERVICE_NAME, **MANAGED}},
            "spec": {"type": "ExternalName", "externalName": "127.0.0.1",
                     "ports": [{"port": port, "protocol": "TCP"}]}}


def api_service(version: str, namespace: str, port: int, ca_bundle: str) -> dict:
    return {"apiVersion": API_SERVICE[0], "kind": API_SERVICE[1],
            "metadata": {"name": f"{version}.{subresources.GROUP}",
                         "labels": {"kubevirt.io": "virt-api-aggregator", **MANAGED},
                         "annotations": {"certificates.kubevirt.io/secret": "kubevirt-virt-api-certs"}},
            "spec": {"service": {"namespace": namespace, "name": SERVICE_NAME, "port": port},
                     "group": subresources.GROUP, "version": version, "caBundle": ca_bundle,
                     "groupPriorityMinimum": 1000, "versionPriority": 15}}


def _ensure(api, desired: dict) -> None:
    meta = desired["metadata"]
    existing = api.get(desired["apiVersion"], desired["kind"], meta["name"], meta.get("namespace"))
    if existing is None:
        api.create(desired)
    elif any(existing["spec"].get(key) != value for key, value in desired["spec"].items()):
        api.patch(existing, {"spec": desired["spec"]})


def register(api, server: aggregation.AggregatedServer, namespace: str, ca_bundle: str) -> None:
    port = server.serve(serving_hosts(namespace))
    _ensure(api, service(namespace, port))
    for version in subresources.VERSIONS:
        _ensure(api, api_service(version, namespace, port, ca_bundle))


def unregister(api, namespace: str) -> None:
    for version in subresources.VERSIONS:
        api.delete(*API_SERVICE, f"{version}.{subresources.GROUP}")
    service_obj = api.get("v1", "Service", SERVICE_NAME, namespace)
    if service_obj is not None and (service_obj["metadata"].get("labels") or {}).get(
            "app.kubernetes.io/managed-by") == "virt-operator":
        api.delete("v1", "Service", SERVICE_NAME, namespace)


def setup(manager, webhooks):
    api = manager.api
    server = aggregation.AggregatedServer(webhooks.ca, api, lambda request: subresources.authorize(api, request),
                                          name="virt-api")
    subresources.add_routes(server, api)

    def reconcile(api, kv: dict):
        namespace = kv["metadata"]["namespace"]
        if kv["metadata"].get("deletionTimestamp"):
            unregister(api, namespace)
        elif (kv.get("status") or {}).get("phase") == "Deployed":
            register(api, server, namespace, webhooks.ca_bundle)
        return None

    manager.add(Controller("virt-operator-apiservices", *KUBEVIRT, reconcile, resync_seconds=30,
                           gone=lambda api, key: unregister(api, key[0])))
    log.info("kubevirt: virt-api's aggregated API (%s) loaded", subresources.GROUP)
