import base64
import threading

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import ensure
from ansible_collections.ontap.virtualization.plugins.module_utils.ensure import Ensurer
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError


def widget(spec, name="w1"):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "ns1"},
            "spec": spec}


MANAGED = ["spec.size", "spec.mode"]


def writes(apiserver):
    return [c for c in apiserver.calls() if c[0] in ("POST", "PATCH", "DELETE")]


def test_creates_when_missing(kube, apiserver):
    outcome = Ensurer(kube, want_diff=True).present(widget({"size": 1, "mode": "Block"}), MANAGED)
    assert (outcome.changed, outcome.action) == (True, "create")
    assert apiserver.get("widgets", "ns1", "w1")["spec"] == {"size": 1, "mode": "Block"}
    assert outcome.diff["before"] == {}
    assert outcome.diff["after"]["spec"] == {"size": 1, "mode": "Block"}


def test_second_run_changes_nothing_and_writes_nothing(kube, apiserver):
    Ensurer(kube).present(widget({"size": 1, "mode": "Block"}), MANAGED)
    before = len(writes(apiserver))
    outcome = Ensurer(kube).present(widget({"size": 1, "mode": "Block"}), MANAGED)
    assert outcome.changed is False
    assert len(writes(apiserver)) == before


def test_unmanaged_and_defaulted_fields_are_not_a_change(kube, apiserver):
    apiserver.put("widgets", widget({"size": 1, "mode": "Block", "defaulted": "by-server"}))
    apiserver.update("widgets", "ns1", "w1", {"metadata": {"annotations": {"controller/touched": "x"}}})
    outcome = Ensurer(kube).present(widget({"size": 1, "mode": "Block"}), MANAGED)
    assert outcome.changed is False
    assert writes(apiserver) == []


def test_updates_only_managed_fields_with_precondition(kube, apiserver):
    apiserver.put("widgets", widget({"size": 1, "mode": "Block", "other": "keep"}))
    outcome = Ensurer(kube, want_diff=True).present(widget({"size": 2, "mode": "Block"}), MANAGED)
    assert (outcome.changed, outcome.action) == (True, "update")
    assert apiserver.get("widgets", "ns1", "w1")["spec"] == {"size": 2, "mode": "Block", "other": "keep"}
    assert outcome.diff == {
        "before": {"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w1", "namespace": "ns1"}, "spec": {"size": 1, "mode": "Block"}},
        "after": {"apiVersion": "example.com/v1", "kind": "Widget",
                  "metadata": {"name": "w1", "namespace": "ns1"}, "spec": {"size": 2, "mode": "Block"}}}
    patch_queries = [q for m, p, q in apiserver.requests if m == "PATCH"]
    assert patch_queries == [{"dryRun": "All"}, {}], "a dry run first checks that what we write sticks"


def test_managed_field_left_out_is_removed(kube, apiserver):
    apiserver.put("widgets", widget({"size": 1, "mode": "Block"}))
    Ensurer(kube).present(widget({"size": 1}), MANAGED)
    assert apiserver.get("widgets", "ns1", "w1")["spec"] == {"size": 1}


def test_conflict_rereads_and_retries(kube, apiserver):
    apiserver.put("widgets", widget({"size": 1, "mode": "Block"}))
    apiserver.fail_next("PATCH", "/widgets/w1$", 409, body={
        "kind": "Status", "code": 409, "reason": "Conflict", "message": "the object has been modified"})
    outcome = Ensurer(kube).present(widget({"size": 3, "mode": "Block"}), MANAGED)
    assert outcome.changed is True
    assert apiserver.get("widgets", "ns1", "w1")["spec"]["size"] == 3
    assert [m for m, _path in apiserver.calls() if m in ("GET", "PATCH")][-5:] == ["GET", "PATCH", "GET", "PATCH", "PATCH"]


def test_check_mode_uses_server_dry_run_and_writes_nothing(kube, apiserver):
    apiserver.put("widgets", widget({"size": 1, "mode": "Block"}))
    outcome = Ensurer(kube, check_mode=True, want_diff=True).present(widget({"size": 5, "mode": "Block"}), MANAGED)
    assert outcome.changed is True
    assert outcome.diff["after"]["spec"]["size"] == 5
    assert apiserver.get("widgets", "ns1", "w1")["spec"]["size"] == 1
    assert all(q.get("dryRun") == "All" for m, p, q in apiserver.requests if m in ("POST", "PATCH", "DELETE"))


def test_check_mode_create_in_missing_namespace_previews_locally(kube, apiserver):
    apiserver.fail_next("POST", "/namespaces/new/widgets$", 404, body={
        "kind": "Status", "code": 404, "reason": "NotFound", "message": 'namespaces "new" not found'})
    desired = widget({"size": 1})
    desired["metadata"]["namespace"] = "new"
    outcome = Ensurer(kube, check_mode=True).present(desired, MANAGED)
    assert outcome.changed is True
    assert outcome.object["metadata"]["namespace"] == "new"


def test_secret_diff_never_shows_values(kube, apiserver):
    def secret(password):
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns1"},
                "type": "Opaque", "data": {"username": base64.b64encode(b"admin").decode(),
                                           "password": base64.b64encode(password.encode()).decode()}}

    Ensurer(kube).present(secret("first-pass"), ["data", "type"])
    outcome = Ensurer(kube, want_diff=True).present(secret("second-pass"), ["data", "type"])
    assert outcome.changed is True
    text = repr(outcome.diff)
    assert "second" not in text and base64.b64encode(b"second-pass").decode() not in text
    assert outcome.diff["after"]["data"] == {"username": "<hidden>", "password": "<hidden, changed>"}
    assert outcome.diff["before"]["data"] == {"username": "<hidden>", "password": "<hidden>"}


def test_absent_deletes_once(kube, apiserver):
    apiserver.put("widgets", widget({"size": 1}))
    ensurer = Ensurer(kube)
    ref = kube.ref("example.com/v1", "Widget", "w1", "ns1")
    assert ensurer.absent(ref).changed is True
    assert apiserver.get("widgets", "ns1", "w1") is None
    assert ensurer.absent(ref).changed is False


def test_absent_in_check_mode_keeps_the_object(kube, apiserver):
    apiserver.put("widgets", widget({"size": 1}))
    ref = kube.ref("example.com/v1", "Widget", "w1", "ns1")
    assert Ensurer(kube, check_mode=True).absent(ref).changed is True
    assert apiserver.get("widgets", "ns1", "w1") is not None
    delete_body = [b for m, p, q, b in apiserver.requests_with_bodies() if m == "DELETE"][-1]
    assert delete_body["dryRun"] == ["All"]


def test_a_field_the_server_drops_is_refused_before_writing(kube, apiserver):
    """Issue 12: an unknown field was pruned by the API server and reported as changed on every run."""
    apiserver.put("widgets", widget({"size": 1}))
    apiserver.prune = lambda body: dict(body, spec=dict((k, v) for k, v in (body.get("spec") or {}).items()
                                                        if k != "colour"))
    with pytest.raises(ModuleError) as err:
        Ensurer(kube).present(widget({"size": 1, "colour": "blue"}), ["spec.size", "spec.colour"])
    assert err.value.msg.startswith('The API server did not keep spec.colour="blue" of Widget ns1/w1')
    assert [q for m, p, q in apiserver.requests if m == "PATCH"] == [{"dryRun": "All"}]
    with pytest.raises(ModuleError):
        Ensurer(kube).present(widget({"size": 1, "colour": "red"}, name="w2"), ["spec.size", "spec.colour"])
    assert apiserver.get("widgets", "ns1", "w2") is None


def test_an_object_being_deleted_is_created_anew_once_gone(kube, apiserver):
    """A namespace a failed run just deleted is still Terminating when the next run asks for it: keeping it would
    leave a namespace that refuses everything created in it (and is gone a moment later)."""
    apiserver.put("widgets", widget({"size": 1, "mode": "Block"}))
    apiserver.update("widgets", "ns1", "w1", {"metadata": {"deletionTimestamp": "2026-11-30T10:00:00Z",
                                                           "finalizers": ["example.com/cleanup"]}})
    threading.Timer(0.3, apiserver.remove, ("widgets", "ns1", "w1")).start()
    outcome = Ensurer(kube).present(widget({"size": 1, "mode": "Block"}), MANAGED)
    assert (outcome.changed, outcome.action) == (True, "create")
    live = apiserver.get("widgets", "ns1", "w1")
    assert live["spec"] == {"size": 1, "mode": "Block"} and "deletionTimestamp" not in live["metadata"]


def test_check_mode_previews_the_creation_of_an_object_being_deleted_without_waiting(kube, apiserver):
    apiserver.put("widgets", widget({"size": 1, "mode": "Block"}))
    apiserver.update("widgets", "ns1", "w1", {"metadata": {"deletionTimestamp": "2026-11-30T10:00:00Z"}})
    before = len(writes(apiserver))
    outcome = Ensurer(kube, check_mode=True).present(widget({"size": 1, "mode": "Block"}), MANAGED)
    assert (outcome.changed, outcome.action) == (True, "create") and len(writes(apiserver)) == before


def test_an_object_that_stays_deleting_is_refused_naming_its_finalizers(kube, apiserver, monkeypatch):
    monkeypatch.setattr(ensure, "DELETION_WAIT_SECONDS", 0.5)
    apiserver.put("widgets", widget({"size": 1, "mode": "Block"}))
    apiserver.update("widgets", "ns1", "w1", {"metadata": {"deletionTimestamp": "2026-11-30T10:00:00Z",
                                                           "finalizers": ["example.com/cleanup"]}})
    with pytest.raises(ModuleError) as error:
        Ensurer(kube).present(widget({"size": 1, "mode": "Block"}), MANAGED)
    assert "is being deleted (since 2026-11-30T10:00:00Z)" in error.value.msg
    assert "(held by the finalizers example.com/cleanup); run again once it is gone" in error.value.msg
