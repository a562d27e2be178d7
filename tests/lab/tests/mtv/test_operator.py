"""MTV from OLM: the operator runs once its CSV succeeds; a ForkliftController makes the `host` Provider
and carries the controller's settings (operator/roles/forkliftcontroller at v2.12.5)."""

import pytest
from kubernetes.client.exceptions import ApiException

from mtv_helpers import FORKLIFT_CONTROLLER, MTV_NAMESPACE, PROVIDER, condition


def test_the_host_provider_appears_as_the_operator_creates_it(kube, mtv):
    """operator/roles/forkliftcontroller/tasks/main.yml "Setup default provider" with
    templates/controller/provider-host.yml.j2 (v2.12.5): Provider `host`, type openshift, empty url and
    secret, in the operator namespace; the provider controller (pkg/controller/provider/controller.go
    Reconcile) makes it Ready without a secret (IsHost)."""
    host = kube.wait(*PROVIDER, "host", MTV_NAMESPACE, lambda p: (p.get("status") or {}).get("phase") == "Ready",
                     "to be Ready")
    assert host["spec"] == {"type": "openshift", "url": "", "secret": {}}
    assert condition(host, "ConnectionTestSucceeded")["status"] == "True"
    assert condition(host, "InventoryCreated")["status"] == "True"
    assert condition(host, "Ready")["category"] == "Required"
    assert "fingerprint" not in host["status"]


def test_settings_are_strings_or_numbers_as_the_crd_says(kube, mtv):
    """forklift.konveyor.io_forkliftcontrollers.yaml (v2.12.5): feature flags are strings with enum
    "true"/"false" (a YAML boolean is refused), controller_* numbers are int-or-string."""
    with pytest.raises(ApiException) as refused:
        kube.patch(*FORKLIFT_CONTROLLER, mtv["metadata"]["name"], MTV_NAMESPACE,
                   {"spec": {"feature_copy_offload": True}})
    assert refused.value.status == 422
    patched = kube.patch(*FORKLIFT_CONTROLLER, mtv["metadata"]["name"], MTV_NAMESPACE,
                         {"spec": {"controller_max_vm_inflight": "5", "controller_precopy_interval": 2}})
    assert patched["spec"]["controller_max_vm_inflight"] == "5"
    kube.patch(*FORKLIFT_CONTROLLER, mtv["metadata"]["name"], MTV_NAMESPACE,
               {"spec": {"controller_max_vm_inflight": None, "controller_precopy_interval": None}})
