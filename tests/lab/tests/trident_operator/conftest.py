"""A lab in the LAB_TRIDENT=operator mode: no Trident until the trident-operator installs it.

Its own state dir (``<LAB_STATE_DIR>-trident-operator``), so it runs beside the session's lab.
"""

import os
import time
from pathlib import Path

import pytest
from kubernetes import dynamic
from kubernetes.client.exceptions import ApiException

import lab as lab_package
from lab import kubeconfig, paths

TIMEOUT = 60


@pytest.fixture(scope="session")
def operator_lab():
    state_dir = Path(str(paths.state_dir()) + "-trident-operator")
    before = os.environ.get("LAB_TRIDENT")
    os.environ["LAB_TRIDENT"] = "operator"  # read by the seed and by the controllers process it starts
    try:
        instance = lab_package.start(state_dir=state_dir)
    finally:
        os.environ.pop("LAB_TRIDENT") if before is None else os.environ.__setitem__("LAB_TRIDENT", before)
    yield instance
    lab_package.stop(instance.state_dir)


class Kube:
    def __init__(self, client: dynamic.DynamicClient):
        self.client = client

    def resource(self, api_version, kind):
        return self.client.resources.get(api_version=api_version, kind=kind)

    def get(self, api_version, kind, name, namespace=None):
        try:
            return self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict()
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def list(self, api_version, kind, namespace=None):
        return self.resource(api_version, kind).get(namespace=namespace).to_dict()["items"]

    def apply(self, obj):
        meta = obj["metadata"]
        if self.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")) is None:
            return self.resource(obj["apiVersion"], obj["kind"]).create(body=obj, namespace=meta.get("namespace"))
        return self.resource(obj["apiVersion"], obj["kind"]).patch(
            body=obj, name=meta["name"], namespace=meta.get("namespace"), content_type="application/merge-patch+json")

    def delete(self, api_version, kind, name, namespace=None):
        try:
            self.resource(api_version, kind).delete(name=name, namespace=namespace)
        except ApiException as error:
            if error.status != 404:
                raise

    def wait(self, api_version, kind, name, namespace, predicate, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        obj = None
        while time.monotonic() < deadline:
            obj = self.get(api_version, kind, name, namespace)
            if obj is not None and predicate(obj):
                return obj
            time.sleep(0.2)
        raise AssertionError(f"{kind} {name} did not get {what} within {timeout}s: {obj and obj.get('status')}")


@pytest.fixture(scope="session")
def kube(operator_lab):
    with kubeconfig.api_client(operator_lab.kubeconfig) as api:
        yield Kube(dynamic.DynamicClient(api))
