"""Simulated Trident: TridentBackendConfigs bind to ONTAP, or fail with Trident's words."""

import base64
import os
import time

import pytest

from lab.controllers import runtime
from storage_helpers import TRIDENT, restart_controllers, wait_for


def test_san_and_nas_backends_bind(backends, core_v1):
    san = backends.bound("ontap-san", svm="svm_virt")
    nas = backends.bound("ontap-nas", svm="svm_virt")

    for tbc in (san, nas):
        name = tbc["metadata"]["name"]
        status = tbc["status"]
        assert status["phase"] == "Bound"
        assert status["lastOperationStatus"] == "Success"
        assert status["message"] == f"Backend '{name}' created"
        assert status["deletionPolicy"] == "delete"
        assert status["backendInfo"]["backendName"] == name
        assert "trident.netapp.io" in tbc["metadata"]["finalizers"]
        record = next(b for b in backends.backend_records() if b["backendUUID"] == status["backendInfo"]["backendUUID"])
        assert record["backendName"] == name and record["state"] == "online"
        assert record["configRef"] == tbc["metadata"]["uid"]
        assert "password" not in str(record["config"])
        event = [e for e in core_v1.list_namespaced_event(TRIDENT, field_selector=f"involvedObject.name={name}").items
                 if e.reason == "Success"]
        assert event and event[0].message == f"Backend '{name}' created"


def _failed(backends, driver, **spec) -> dict:
    tbc = backends.create(driver, **spec)
    status = backends.wait_status(tbc, "Failed")
    assert status["phase"] == ""
    assert status["backendInfo"] == {"backendName": "", "backendUUID": ""}
    assert not [b for b in backends.backend_records() if b["configRef"] == tbc["metadata"]["uid"]]
    return status


def test_wrong_credentials_fail_and_create_nothing(backends, ontap):
    prefix = "wrongcreds"  # other suites' claims may provision at the same time: look only at this backend's
    status = _failed(backends, "ontap-san", svm="svm_virt", storagePrefix=prefix,
                     secret=backends.secret("admin", "not-the-password"))
    assert status["message"].startswith(
        "Failed to create backend: problem initializing storage driver 'ontap-san': error initializing ontap-san "
        "driver: could not create Data ONTAP API client: error creating ONTAP REST API client: ")
    assert "401" in status["message"]
    assert not [v for v in ontap.volume_names() if v.startswith(prefix)]


def test_missing_svm_fails(backends):
    status = _failed(backends, "ontap-nas", svm="svm_missing")
    assert status["message"].endswith("unable to get details for SVM svm_missing; unexpected result")


def test_protocol_not_on_the_svm_fails(backends):
    status = _failed(backends, "ontap-san", svm="svm_nas", sanType="iscsi")
    assert status["message"] == ("Failed to create backend: problem initializing storage driver 'ontap-san': "
                                 "no iSCSI data LIFs found on SVM svm_nas")


def test_config_errors_fail_before_ontap(backends):
    status = _failed(backends, "ontap-san", svm="svm_virt", sanType="fc")
    assert status["message"].endswith("invalid value for sanType: fc")
    status = _failed(backends, "ontap-nas", svm="svm_virt", version=2)
    assert status["message"] == ("Failed to create backend: input failed validation: unexpected config file "
                                 "version; found 2, expected 1")


def test_non_loopback_management_lif_is_refused(backends):
    status = _failed(backends, "ontap-nas", svm="svm_virt", managementLIF="10.20.30.40")
    assert "managementLIF '10.20.30.40' is not a loopback address" in status["message"]


def test_config_outside_trident_namespace_is_ignored(backends, namespace, core_v1):
    core_v1.create_namespaced_secret(namespace, {"metadata": {"name": "creds"}, "stringData": {"username": "x"}})
    tbc = backends.create("ontap-nas", namespace=namespace, secret="creds", svm="svm_virt")
    time.sleep(3)
    assert "status" not in backends.get(tbc) or not backends.get(tbc)["status"]
    assert not backends.get(tbc)["metadata"].get("finalizers")


def test_secret_change_is_rechecked(backends, core_v1, lab):
    secret = backends.secret("admin", "wrong")
    tbc = backends.create("ontap-san", svm="svm_virt", secret=secret)
    backends.wait_status(tbc, "Failed")
    password = lab.vars["ontap"]["cluster_admin"]["password"]
    encoded = base64.b64encode(password.encode()).decode()
    core_v1.patch_namespaced_secret(secret, TRIDENT, {"data": {"password": encoded}})
    status = backends.wait_status(tbc, "Success")
    assert status["phase"] == "Bound"


def test_deletion_policies(backends, custom_objects):
    retained = backends.bound("ontap-nas", svm="svm_virt", deletionPolicy="retain")
    deleted = backends.bound("ontap-nas", svm="svm_virt")
    for tbc in (retained, deleted):
        backends.delete(tbc)

    def gone(tbc):
        try:
            backends.get(tbc)
        except Exception:
            return True
        return False

    wait_for(lambda: gone(retained) and gone(deleted), "both backend configs to be deleted")
    records = {b["backendUUID"]: b for b in backends.backend_records()}
    kept = records.get(retained["status"]["backendInfo"]["backendUUID"])
    assert kept and kept["configRef"] == ""
    assert deleted["status"]["backendInfo"]["backendUUID"] not in records
    custom_objects.delete_namespaced_custom_object("trident.netapp.io", "v1", TRIDENT, "tridentbackends",
                                                   kept["metadata"]["name"])


def _record(backends, tbc: dict) -> dict:
    uuid = tbc["status"]["backendInfo"]["backendUUID"]
    return next(b for b in backends.backend_records() if b["backendUUID"] == uuid)


def test_unknown_keys_are_ignored_and_case_is_folded(backends):
    """Trident decodes the config with a plain json.Unmarshal (InitializeOntapConfig): keys its
    structs lack are dropped without a word, and a key spelled in another case sets the field.
    (The collection refuses unknown keys itself, before it writes; Trident does not.)"""
    tbc = backends.bound("ontap-nas", svm="svm_virt", notATridentKey="x", StoragePrefix="folded",
                         defaults={"spaceReserve": "none", "notADefault": "x"},
                         storage=[{"labels": {"tier": "gold"}, "notAPoolKey": "x"}])
    assert tbc["status"]["message"] == f"Backend '{tbc['metadata']['name']}' created"
    config = _record(backends, tbc)["config"]["ontap_config"]
    assert "notATridentKey" not in config and "StoragePrefix" not in config
    assert config["storagePrefix"] == "folded"
    assert config["defaults"] == {"spaceReserve": "none"}
    assert config["storage"] == [{"labels": {"tier": "gold"}}]


def _update(backends, custom_objects, tbc: dict, spec: dict) -> None:
    meta = tbc["metadata"]
    custom_objects.patch_namespaced_custom_object("trident.netapp.io", "v1", meta["namespace"],
                                                  "tridentbackendconfigs", meta["name"], {"spec": spec})


def test_storage_prefix_cannot_change(backends, custom_objects):
    """updateBackendByBackendUUID: PrefixChange -> "updating the storage prefix isn't currently
    supported"; the TBC stays Bound to the backend, which keeps its old config."""
    tbc = backends.bound("ontap-nas", svm="svm_virt", storagePrefix="first")
    name = tbc["metadata"]["name"]
    _update(backends, custom_objects, tbc, {"storagePrefix": "second"})
    status = backends.wait_status(tbc, "Failed")
    assert status["message"] == "Failed to apply the backend update; updating the storage prefix isn't currently " \
                                "supported"
    assert status["phase"] == "Bound" and status["backendInfo"] == tbc["status"]["backendInfo"]
    assert _record(backends, tbc)["config"]["ontap_config"]["storagePrefix"] == "first"

    _update(backends, custom_objects, tbc, {"storagePrefix": "first", "limitVolumeSize": "50Gi"})
    status = backends.wait_status(tbc, "Success")
    assert status["message"] == f"Backend '{name}' updated"
    assert _record(backends, tbc)["config"]["ontap_config"]["limitVolumeSize"] == "50Gi"


def test_default_prefix_spelled_out_is_no_change(backends, custom_objects):
    """The prefixes are compared once the default applies: none and "trident" are the same."""
    tbc = backends.bound("ontap-nas", svm="svm_virt")
    _update(backends, custom_objects, tbc, {"storagePrefix": "trident"})
    status = wait_for(lambda: (lambda s: s if s.get("message", "").endswith("updated") else None)(
        backends.get(tbc).get("status") or {}), "the update to be applied")
    assert status["lastOperationStatus"] == "Success" and status["phase"] == "Bound"


def test_storage_driver_cannot_change(backends, custom_objects):
    tbc = backends.bound("ontap-nas", svm="svm_virt")
    _update(backends, custom_objects, tbc, {"storageDriverName": "ontap-san"})
    status = backends.wait_status(tbc, "Failed")
    assert status["message"] == ("Failed to apply the backend update; cannot update the backend as the old backend is "
                                 "of type ontap-nas and the new backend is of type ontap-san")
    assert status["phase"] == "Bound"


LATENCY = 4.0


def test_latency_setting():
    table = runtime.latency_table("trident:3s, csi-*:500ms,*:1,trident-volumes:2m")
    assert [runtime.latency_for(name, table) for name in (
        "trident-backend-configs", "trident-volumes", "csi-resizer", "datavolume-controller")] == [1.0, 120.0, 1.0, 1.0]
    assert runtime.latency_for("trident-backend-configs", runtime.latency_table("trident:3s")) == 3.0
    assert runtime.latency_for("tridentish", runtime.latency_table("trident:3s")) == 0.0
    assert runtime.latency_table("") == []
    with pytest.raises(ValueError, match="is not controller:duration"):
        runtime.latency_table("trident")


@pytest.fixture
def slow_trident(lab):
    """The lab's Trident reacting LATENCY seconds late (LAB_LATENCY), as a busy one does."""
    restart_controllers(lab, LAB_LATENCY=f"trident:{LATENCY:g}s")
    yield LATENCY
    restart_controllers(lab, LAB_LATENCY=os.environ.get("LAB_LATENCY", ""))


def test_an_update_is_judged_late_under_latency(backends, custom_objects, slow_trident):
    """A TridentBackendConfig's status has no observedGeneration: right after an update it still
    shows the verdict on the previous spec, and nothing in it says so. Under latency a refused
    update reads as Success for seconds, then turns Failed."""
    tbc = backends.bound("ontap-nas", svm="svm_virt", storagePrefix="kept")
    time.sleep(slow_trident + 1)  # the late echoes of binding it (status, finalizer) are over: Trident is idle
    tbc = backends.get(tbc)
    before = tbc["status"]
    _update(backends, custom_objects, tbc, {"storagePrefix": "changed"})
    changed_at = time.monotonic()
    stale = backends.get(tbc)
    assert stale["metadata"]["generation"] > tbc["metadata"]["generation"]
    assert stale["status"] == before and "observedGeneration" not in stale["status"]
    assert before["lastOperationStatus"] == "Success" and before["phase"] == "Bound"

    status = backends.wait_status(tbc, "Failed")
    assert time.monotonic() - changed_at >= slow_trident * 0.9
    assert status["message"] == "Failed to apply the backend update; updating the storage prefix isn't currently " \
                                "supported"
