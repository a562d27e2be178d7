"""Helpers for the MTV tests: the Forklift kinds, a dict-in dict-out client, waits."""

import uuid

from lab.tests.shared import CSV, OPERATOR_GROUP, SUBSCRIPTION, Kube, condition, wait_for  # noqa: F401

GROUP = "forklift.konveyor.io/v1beta1"
PROVIDER = (GROUP, "Provider")
FORKLIFT_CONTROLLER = (GROUP, "ForkliftController")
MTV_NAMESPACE = "openshift-mtv"
MTV_CSV = "mtv-operator.v2.12.5"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
