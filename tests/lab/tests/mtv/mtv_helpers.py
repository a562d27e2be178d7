"""Helpers for the MTV tests: the Forklift kinds, a dict-in dict-out client, waits."""

import uuid

from kubernetes.client.exceptions import ApiException

from lab import procs

GROUP = "forklift.konveyor.io/v1beta1"
PROVIDER = (GROUP, "Provider")
FORKLIFT_CONTROLLER = (GROUP, "ForkliftController")
CSV = ("operators.coreos.com/v1alpha1", "ClusterServiceVersion")
SUBSCRIPTION = ("operators.coreos.com/v1alpha1", "Subscription")
OPERATOR_GROUP = ("operators.coreos.com/v1", "OperatorGroup")
MTV_NAMESPACE = "openshift-mtv"
MTV_CSV = "mtv-operator.v2.12.5"
TIMEOUT = 60



def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def condition(obj: dict, type_: str) -> dict:
    return next((c for c in ((obj or {}).get("status") or {}).get("conditions") or [] if c["type"] == type_), {})


def wait_for(check, what: str, timeout: float = TIMEOUT):
    return procs.wait_until(check, what, timeout=timeout)


class Kube:
    def __init__(self, dynamic_client):
        self.client = dynamic_client

    def resource(self, api_version, kind):
        return self.client.resources.get(api_version=api_version, kind=kind)

    def create(self, obj: dict) -> dict:
        return self.resource(obj["apiVersion"], obj["kind"]).create(
            body=obj, namespace=obj["metadata"].get("namespace")).to_dict()

    def ensure(self, obj: dict) -> dict:
        try:
            return self.create(obj)
        except ApiException as error:
            if error.status != 409:
                raise
            return self.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))

    def get(self, api_version, kind, name, namespace=None):
        try:
            return self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict()
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def list(self, api_version, kind, namespace=None) -> list:
        return self.resource(api_version, kind).get(namespace=namespace).to_dict().get("items") or []

    def patch(self, api_version, kind, name, namespace, patch: dict) -> dict:
        return self.resource(api_version, kind).patch(body=patch, name=name, namespace=namespace,
                                                      content_type="application/merge-patch+json").to_dict()

    def delete(self, api_version, kind, name, namespace=None) -> None:
        try:
            self.resource(api_version, kind).delete(name=name, namespace=namespace)
        except ApiException as error:
            if error.status != 404:
                raise

    def wait(self, api_version, kind, name, namespace, predicate, what: str, timeout: float = TIMEOUT) -> dict:
        def check():
            obj = self.get(api_version, kind, name, namespace)
            return obj if obj is not None and predicate(obj) else None
        return wait_for(check, f"{kind} {namespace}/{name} {what}", timeout)
