import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.kube import Conflict


def configmap(name, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns1"},
            "data": data or {"a": "1"}}


def test_get_returns_none_for_missing_object(kube, apiserver):
    ref = kube.ref("v1", "ConfigMap", "nope", "ns1")
    assert kube.get(ref) is None
    assert ("GET", "/api/v1/namespaces/ns1/configmaps/nope") in apiserver.calls("GET")


def test_create_then_get(kube, apiserver):
    ref = kube.ref("v1", "ConfigMap", "cm", "ns1")
    kube.create(ref, configmap("cm"))
    assert apiserver.get("configmaps", "ns1", "cm")["data"] == {"a": "1"}
    assert kube.get(ref)["data"] == {"a": "1"}


def made_by_a_lost_answer(kube, apiserver, stored):
    """The server stored ``stored`` but its answer was lost (503 here, a reset connection in the fault proxy): the
    create is tried again and refused AlreadyExists."""
    kube.retry_seconds = 5
    apiserver.put("configmaps", stored)
    apiserver.fail_next("POST", "/configmaps$", 503)
    return kube.ref("v1", "ConfigMap", "cm", "ns1")


def test_a_create_whose_answer_was_lost_finds_the_object_it_made(kube, apiserver):
    ref = made_by_a_lost_answer(kube, apiserver, configmap("cm"))
    made = kube.create(ref, configmap("cm"))
    stored = apiserver.get("configmaps", "ns1", "cm")
    assert made["data"] == {"a": "1"} and made["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert [method for method, path, query in apiserver.requests if path.endswith("/configmaps")] == ["POST", "POST"]


def test_a_create_whose_answer_was_lost_still_refuses_another_object_of_that_name(kube, apiserver):
    ref = made_by_a_lost_answer(kube, apiserver, configmap("cm", {"a": "other"}))
    with pytest.raises(ModuleError) as err:
        kube.create(ref, configmap("cm"))
    assert err.value.details["status"] == 409
    assert apiserver.get("configmaps", "ns1", "cm")["data"] == {"a": "other"}


def test_a_first_create_refused_as_existing_stays_refused(kube, apiserver):
    """Only a retried create may find its own object: an object there before the first attempt is not ours."""
    apiserver.put("configmaps", configmap("cm"))
    with pytest.raises(ModuleError) as err:
        kube.create(kube.ref("v1", "ConfigMap", "cm", "ns1"), configmap("cm"))
    assert err.value.details["status"] == 409


def test_dry_run_create_sends_dry_run_and_stores_nothing(kube, apiserver):
    ref = kube.ref("v1", "ConfigMap", "cm", "ns1")
    preview = kube.create(ref, configmap("cm"), dry_run=True)
    assert preview["metadata"]["name"] == "cm"
    assert apiserver.get("configmaps", "ns1", "cm") is None
    method, path, query = apiserver.requests[-1]
    assert (method, query.get("dryRun")) == ("POST", "All")


def test_cluster_scoped_ref_drops_namespace(kube):
    assert kube.ref("v1", "Namespace", "n1", "ignored").namespace is None


def test_unknown_kind_names_the_missing_api(kube):
    with pytest.raises(ModuleError) as err:
        kube.ref("trident.netapp.io/v1", "TridentBackendConfig", "b", "trident")
    assert "does not serve TridentBackendConfig (trident.netapp.io/v1)" in err.value.msg


def test_transient_errors_are_retried(kube, apiserver):
    apiserver.put("configmaps", configmap("cm"))
    apiserver.fail_next("GET", "/configmaps/cm$", 503, times=2)
    assert kube.get(kube.ref("v1", "ConfigMap", "cm", "ns1"))["data"] == {"a": "1"}
    assert apiserver.calls("GET").count(("GET", "/api/v1/namespaces/ns1/configmaps/cm")) == 3


def test_throttling_honours_retry_after(kube, apiserver):
    apiserver.put("configmaps", configmap("cm"))
    apiserver.fail_next("GET", "/configmaps/cm$", 429, headers={"Retry-After": "1"})
    ref = kube.ref("v1", "ConfigMap", "cm", "ns1")
    import time
    start = time.monotonic()
    assert kube.get(ref) is not None
    assert time.monotonic() - start >= 1.0


def test_retries_stop_at_the_deadline(kube, apiserver):
    kube.retry_seconds = 1
    apiserver.fail_next("GET", "/configmaps/cm$", 500, times=100)
    with pytest.raises(ModuleError) as err:
        kube.get(kube.ref("v1", "ConfigMap", "cm", "ns1"))
    assert "HTTP 500" in err.value.msg


def test_422_names_field_and_reason(kube, apiserver):
    apiserver.fail_next("POST", "/configmaps$", 422, body={
        "kind": "Status", "code": 422, "reason": "Invalid", "message": "ConfigMap \"Bad\" is invalid",
        "details": {"causes": [{"field": "metadata.name", "reason": "FieldValueInvalid",
                                "message": "Invalid value: \"Bad\": a lowercase RFC 1123 subdomain must consist of ..."}]}})
    with pytest.raises(ModuleError) as err:
        kube.create(kube.ref("v1", "ConfigMap", "Bad", "ns1"), configmap("Bad"))
    assert "rejected create of ConfigMap ns1/Bad as invalid: metadata.name: Invalid value" in err.value.msg


def test_403_names_verb_resource_and_namespace(kube, apiserver):
    apiserver.fail_next("POST", "/configmaps$", 403, body={
        "kind": "Status", "code": 403, "reason": "Forbidden",
        "message": 'configmaps is forbidden: User "dev" cannot create resource "configmaps" in API group "" in the namespace "ns1"'})
    with pytest.raises(ModuleError) as err:
        kube.create(kube.ref("v1", "ConfigMap", "cm", "ns1"), configmap("cm"))
    assert "may not create configmaps (v1) in namespace 'ns1'" in err.value.msg
    assert 'User "dev"' in err.value.msg


def test_conditional_patch_conflict_raises_conflict(kube, apiserver):
    apiserver.put("configmaps", configmap("cm"))
    ref = kube.ref("v1", "ConfigMap", "cm", "ns1")
    with pytest.raises(Conflict):
        kube.patch(ref, {"metadata": {"resourceVersion": "1"}, "data": {"a": "2"}})
    assert apiserver.get("configmaps", "ns1", "cm")["data"] == {"a": "1"}


def test_delete_reports_whether_something_was_deleted(kube, apiserver):
    apiserver.put("configmaps", configmap("cm"))
    ref = kube.ref("v1", "ConfigMap", "cm", "ns1")
    assert kube.delete(ref) is True
    assert apiserver.get("configmaps", "ns1", "cm") is None
    assert kube.delete(ref) is False


def test_403_names_the_rbac_verb_of_each_call(kube, apiserver):
    """Defect 2 of issue 11: reads said "read" and patches "update", verbs RBAC does not have."""
    apiserver.put("configmaps", configmap("cm"))
    ref = kube.ref("v1", "ConfigMap", "cm", "ns1")
    for method, call, verb in (("GET", lambda: kube.get(ref), "get"),
                               ("PATCH", lambda: kube.patch(ref, {"data": {"a": "2"}}), "patch"),
                               ("DELETE", lambda: kube.delete(ref), "delete")):
        apiserver.fail_next(method, "/configmaps/cm$", 403, body={"kind": "Status", "code": 403, "message": "no"})
        with pytest.raises(ModuleError) as err:
            call()
        assert "may not {0} configmaps (v1) in namespace 'ns1'".format(verb) in err.value.msg
        assert "Grant it the verb '{0}'".format(verb) in err.value.msg


def test_served_is_false_only_when_the_api_is_not_served(kube, apiserver):
    assert kube.served("v1", "ConfigMap") is True
    assert kube.served("trident.netapp.io/v1", "TridentBackendConfig") is False
    apiserver.fail_next("GET", "^/apis/example.com/v1$", 403, times=50)
    with pytest.raises(ModuleError) as err:
        kube.served("example.com/v1", "Widget")
    assert err.value.msg.startswith("The account in use may not discover the API of Widget (example.com/v1)")
    assert "non-resource URLs /api/* and /apis/*" in err.value.msg


def test_tls_failures_are_not_transient_but_dropped_connections_are():
    import ssl

    from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, SSLError

    from ansible_collections.ontap.virtualization.plugins.module_utils.retry import is_transient

    verify_failed = MaxRetryError(None, "/api", reason=SSLError(ssl.SSLCertVerificationError("unable to get issuer")))
    assert not is_transient(verify_failed)
    assert is_transient(ProtocolError("Connection aborted.", ConnectionResetError()))
    assert is_transient(MaxRetryError(None, "/api", reason=NewConnectionError(None, "Connection refused")))


def test_403_on_a_watch_names_the_verb_watch(kube, apiserver):
    """A wait lists, then watches: the watch's own 403 says to grant 'watch' (it said "Watching ... failed")."""
    ref = kube.ref("v1", "ConfigMap", "cm", "ns1")
    apiserver.fail_next("GET", "/configmaps$", 403, body={"kind": "Status", "code": 403, "message": "no"})
    with pytest.raises(ModuleError) as err:
        list(kube.watch(ref, "1", 5))
    assert "may not watch configmaps (v1) in namespace 'ns1'" in err.value.msg
    assert "Grant it the verb 'watch' on 'configmaps' in API group '' (the core group)" in err.value.msg


def test_403_on_an_eviction_names_the_subresource_not_discovery():
    """An eviction is RBAC's 'create' on pods/eviction; its 403 said to grant discovery URLs."""
    from ansible_collections.ontap.virtualization.plugins.module_utils.errors import api_error_message
    from ansible_collections.ontap.virtualization.plugins.module_utils.kube import EVICTION, ObjectRef

    class Forbidden(Exception):
        status, body = 403, b'{"message": "pods \\"p\\" is forbidden"}'

    msg = api_error_message(Forbidden(), "create", ObjectRef("v1", "Pod", "p", "ns1", EVICTION), doing="evict")
    assert "may not create pods/eviction (v1) in namespace 'ns1'" in msg
    assert "Grant it the verb 'create' on 'pods/eviction' in API group ''" in msg
    assert "non-resource" not in msg


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ns1"}}


def test_an_eviction_answered_503_is_asked_again_and_the_pod_goes(kube, apiserver):
    kube.retry_seconds = 5
    apiserver.put("pods", pod("virt-launcher-a"))
    apiserver.fail_next("POST", "/pods/virt-launcher-a/eviction$", 503)
    assert kube.evict(kube.ref("v1", "Pod", "virt-launcher-a", "ns1")) is None
    assert apiserver.calls("POST").count(("POST", "/api/v1/namespaces/ns1/pods/virt-launcher-a/eviction")) == 2
    assert apiserver.get("pods", "ns1", "virt-launcher-a") is None


def test_an_eviction_refused_429_is_returned_at_once_not_retried(kube, apiserver):
    """kubectl drain (staging/src/k8s.io/kubectl/pkg/drain/drain.go evictPods) treats 429 as a refusal to wait on."""
    kube.retry_seconds = 5
    apiserver.put("pods", pod("virt-launcher-b"))
    apiserver.fail_next("POST", "/pods/virt-launcher-b/eviction$", 429,
                        body={"kind": "Status", "code": 429, "message": "Eviction request for target Pod"})
    status, message = kube.evict(kube.ref("v1", "Pod", "virt-launcher-b", "ns1"))
    assert (status, message) == (429, "Eviction request for target Pod")
    assert len(apiserver.calls("POST")) == 1 and apiserver.get("pods", "ns1", "virt-launcher-b") is not None


def test_discovery_left_half_made_by_a_503_is_rebuilt(kube, apiserver):
    """kubernetes.dynamic's discovery (discovery.py parse_api_groups) empties its cache before asking /apis; a 503
    there left it half-made, and the next lookup of a group's kinds failed with KeyError 'apis'."""
    apiserver.fail_next("GET", "^/apis/example.com/v1$", 503)
    apiserver.fail_next("GET", "^/apis$", 503)
    ref = kube.ref("example.com/v1", "Widget", "w", "ns1")
    assert ref.plural == "widgets"
