"""The lab's API server behaves like a real one: field validation, GC, namespaces, RBAC, audit."""

import json
import uuid

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lab import procs


def _vm(name: str, **spec_fields) -> dict:
    return {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
        "spec": {"runStrategy": "Halted",
                 "template": {"spec": {"domain": {"devices": {}}}}, **spec_fields},
    }


def _message(error: ApiException) -> str:
    return json.loads(error.body)["message"]


def _gone(read) -> bool:
    try:
        read()
    except ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def test_misspelled_field_warns_and_strict_rejects(custom_objects, namespace, api_warnings):
    args = ("kubevirt.io", "v1", namespace, "virtualmachines")
    custom_objects.create_namespaced_custom_object(*args, _vm("typo", runStrategyy="Always"))
    assert 'unknown field "spec.runStrategyy"' in api_warnings.take()

    with pytest.raises(ApiException) as error:
        custom_objects.create_namespaced_custom_object(
            *args, _vm("typo-strict", runStrategyy="Always"), field_validation="Strict")
    assert error.value.status == 400
    assert 'unknown field "spec.runStrategyy"' in _message(error.value)
    api_warnings.take()


def test_dependent_is_garbage_collected(core_v1, namespace):
    owner = core_v1.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    core_v1.create_namespaced_config_map(namespace, {"metadata": {
        "name": "dependent",
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                             "uid": owner.metadata.uid}],
    }})
    core_v1.delete_namespaced_config_map("owner", namespace)
    procs.wait_until(
        lambda: _gone(lambda: core_v1.read_namespaced_config_map("dependent", namespace)),
        "the garbage collector to delete the dependent")


def test_namespace_deletion_completes(core_v1, custom_objects):
    name = f"test-delete-{uuid.uuid4().hex[:8]}"
    core_v1.create_namespace({"metadata": {"name": name}})
    core_v1.create_namespaced_config_map(name, {"metadata": {"name": "content"}})
    custom_objects.create_namespaced_custom_object(
        "kubevirt.io", "v1", name, "virtualmachines", _vm("content"))
    core_v1.delete_namespace(name)
    procs.wait_until(lambda: _gone(lambda: core_v1.read_namespace(name)),
                     "the namespace controller to finish deleting the namespace")


def test_user_without_rbac_rights_is_forbidden(user_client, namespace):
    nobody = client.CoreV1Api(user_client("lab-nobody"))
    with pytest.raises(ApiException) as error:
        nobody.list_namespaced_config_map(namespace)
    assert error.value.status == 403
    assert 'User "lab-nobody" cannot list resource "configmaps"' in _message(error.value)


def test_audit_log_records_writes(lab, core_v1, namespace):
    marker = uuid.uuid4().hex
    core_v1.create_namespaced_config_map(
        namespace, {"metadata": {"name": "audited"}, "data": {"marker": marker}})

    def find_event():
        for line in lab.audit_log.read_text().splitlines():
            event = json.loads(line)
            if event.get("requestObject", {}).get("data", {}).get("marker") == marker:
                return event
        return None

    event = procs.wait_until(find_event, "the create to reach the audit log", timeout=10)
    assert event["verb"] == "create"
    assert event["objectRef"]["resource"] == "configmaps"
    assert event["objectRef"]["namespace"] == namespace
    assert event["objectRef"]["name"] == "audited"
    assert event["user"]["username"] == "admin"
    assert event["requestObject"]["metadata"]["name"] == "audited"
