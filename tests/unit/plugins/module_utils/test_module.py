"""The module base: connection errors as sentences, the per-run wait budget and its slices, results."""

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import wait
from ansible_collections.ontap.virtualization.plugins.module_utils.module import Pending


def configmap(name):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns1"}, "data": {"a": "1"}}


def run(module, action, module_exit):
    with pytest.raises(module_exit) as done:
        module.run(action)
    return done.value


def test_rejected_token_at_first_contact_is_one_sentence(make_module, apiserver, module_exit):
    """Defect 3 of issue 11: a bad token at discovery was a raw UnauthorizedError traceback."""
    module = make_module({})
    apiserver.fail_next("GET", "^/(version|api|apis)", 401, times=20)
    outcome = run(module, lambda m: m.kube.get(m.kube.ref("v1", "ConfigMap", "x", "ns1")), module_exit)
    assert outcome.failed
    assert "did not accept the credentials" in outcome.result["msg"]
    assert "Check the token" in outcome.result["msg"]


def test_forbidden_first_request_names_what_to_grant(make_module, apiserver, module_exit):
    """A 403 on GET /version is an authenticated account without the non-resource grant, not bad credentials."""
    module = make_module({})
    apiserver.fail_next("GET", "^/version", 403, times=20)
    outcome = run(module, lambda m: m.kube, module_exit)
    assert outcome.failed
    assert "may not get the API server's version (HTTP 403)" in outcome.result["msg"]
    assert "Grant it the verb 'get' on the non-resource URL /version" in outcome.result["msg"]


def test_a_busy_server_at_first_contact_is_asked_again(make_module, apiserver):
    """A 503 or 429 to the first request (GET /version) is the server asking us to come back, as on any later call
    (the module used to fail at once: 'answered HTTP 503 to the first request')."""
    module = make_module({})
    apiserver.fail_next("GET", "^/version", 503, times=2)
    assert module.kube.get(module.kube.ref("v1", "ConfigMap", "absent", "ns1")) is None


def test_closed_port_names_the_endpoint_at_once(make_module, module_exit):
    import socket
    import time
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused, and no one else gets the port
        port = sock.getsockname()[1]
        module = make_module({})
        module.params["host"] = "http://127.0.0.1:{0}".format(port)
        started = time.monotonic()
        outcome = run(module, lambda m: m.kube, module_exit)
    assert outcome.failed and time.monotonic() - started < 20
    assert "127.0.0.1:{0}".format(port) in outcome.result["msg"]
    assert "connection refused" in outcome.result["msg"]


def test_missing_kubeconfig_is_named_without_tripping_no_log(make_module, tmp_path, module_exit):
    module = make_module({})
    module.params.update(host=None, api_key=None, kubeconfig=str(tmp_path / "nope" / "kubeconfig"))
    outcome = run(module, lambda m: m.kube, module_exit)
    assert "The kubeconfig file 'kubeconfig' does not exist in directory '{0}'".format(tmp_path / "nope") \
        in outcome.result["msg"]


def test_unparsable_kubeconfig_is_one_sentence(make_module, tmp_path, module_exit):
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nclusters: [\n")
    module = make_module({})
    module.params.update(host=None, api_key=None, kubeconfig=str(path))
    outcome = run(module, lambda m: m.kube, module_exit)
    assert outcome.failed and "kubeconfig" in outcome.result["msg"]


def test_retry_budget_is_its_own_not_wait_timeout(make_module):
    """Defect 3 of issue 11: one transient error could be retried for wait_timeout (15 minutes)."""
    module = make_module({}, wait_timeout=900)
    assert module.kube.retry_seconds == 60


@pytest.mark.parametrize("value", [0, -1])
def test_wait_timeout_below_one_is_refused_before_any_call(make_module, apiserver, module_exit, value):
    module = make_module({}, wait_timeout=value)
    outcome = run(module, lambda m: m.kube.create(m.kube.ref("v1", "ConfigMap", "cm", "ns1"), configmap("cm")),
                  module_exit)
    assert "wait_timeout must be at least 1" in outcome.result["msg"]
    assert apiserver.calls("POST") == []


def test_a_slice_ends_with_progress_and_the_budget_ends_with_a_timeout(make_module, apiserver, module_exit):
    apiserver.put("configmaps", configmap("cm"))
    never = wait.field_equals("data.a", "2")
    sliced = make_module({}, {"progress": True}, wait_timeout=30, progress_interval=1)
    ref = sliced.kube.ref("v1", "ConfigMap", "cm", "ns1")
    with pytest.raises(Pending) as pending:
        sliced.wait_until(ref, never)
    assert pending.value.progress["waiting_for"] == "ConfigMap ns1/cm"
    assert pending.value.progress["missing"] == 'data.a is "2"'
    whole = make_module({}, {"progress": True}, wait_timeout=1, progress_interval=30)
    with pytest.raises(wait.WaitTimedOut) as timed_out:
        whole.wait_until(ref, never)
    assert timed_out.value.msg.startswith("Timed out after 1s waiting for ConfigMap ns1/cm")


def test_pending_run_exits_ok_with_what_changed_and_the_progress(make_module, apiserver, module_exit):
    module = make_module({}, {"progress": True}, wait_timeout=30, progress_interval=1)

    def action(m):
        made = m.ensurer.present(configmap("cm"), ["data"]).object
        m.wait_until(m.kube.ref("v1", "ConfigMap", "cm", "ns1"), wait.field_equals("data.a", "2"))
        return m.result(object=made)

    outcome = run(module, action, module_exit)
    assert not outcome.failed
    assert outcome.result["changed"] is True
    assert outcome.result["changes"] == ["created ConfigMap ns1/cm"]
    assert outcome.result["pending"]["now"] == "no status yet"


def test_result_lists_changes_and_diffs_of_changed_objects_only(make_module, apiserver):
    apiserver.put("configmaps", configmap("same"))
    module = make_module({}, diff=True)
    module.ensurer.present(configmap("same"), ["data"])
    module.ensurer.present(configmap("new"), ["data"])
    result = module.result(extra=1)
    assert result["changed"] is True and result["extra"] == 1
    assert result["changes"] == ["created ConfigMap ns1/new"]
    assert [d["after"]["metadata"]["name"] for d in result["diff"]] == ["new"]


def test_check_mode_changes_say_what_would_happen(make_module, apiserver):
    apiserver.put("configmaps", configmap("old"))
    module = make_module({}, check_mode=True)
    module.ensurer.absent(module.kube.ref("v1", "ConfigMap", "old", "ns1"))
    assert module.result()["changes"] == ["would delete ConfigMap ns1/old"]
    assert apiserver.get("configmaps", "ns1", "old") is not None


def test_a_definite_failure_removes_what_the_run_created(make_module, apiserver, module_exit):
    apiserver.put("configmaps", configmap("existing"))
    module = make_module({})

    def action(m):
        m.ensurer.present(configmap("first"), ["data"])
        m.ensurer.present(dict(configmap("existing"), data={"a": "changed"}), ["data"])
        m.ensurer.present(configmap("second"), ["data"])
        raise wait.WaitFailed("Trident could not create backend x: wrong password", None)

    outcome = run(module, action, module_exit)
    assert outcome.failed
    assert outcome.result["msg"] == ("Trident could not create backend x: wrong password. Undone, to leave nothing "
                                     "half-made: removed ConfigMap ns1/second; removed ConfigMap ns1/first.")
    assert apiserver.get("configmaps", "ns1", "first") is None and apiserver.get("configmaps", "ns1", "second") is None
    assert apiserver.get("configmaps", "ns1", "existing")["data"] == {"a": "changed"}, "only creations are undone"


def test_a_timeout_leaves_the_work_running(make_module, apiserver, module_exit):
    module = make_module({}, wait_timeout=1)

    def action(m):
        m.ensurer.present(configmap("job"), ["data"])
        m.wait_until(m.kube.ref("v1", "ConfigMap", "job", "ns1"), wait.field_equals("data.a", "2"))

    outcome = run(module, action, module_exit)
    assert outcome.failed and outcome.result["msg"].startswith("Timed out after 1s")
    assert outcome.result["changes"] == ["created ConfigMap ns1/job"]
    assert apiserver.get("configmaps", "ns1", "job") is not None


def test_an_untrusted_certificate_fails_at_once_naming_the_fix(make_module, tmp_path, module_exit):
    """Issue 12 class 4: TLS failures were retried as transient until the timeout."""
    import subprocess
    import time

    from fake_apiserver import FakeAPIServer

    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    with FakeAPIServer(tls=(str(cert), str(key))) as server:
        module = make_module({}, wait_timeout=600)
        module.params.update(host=server.url, validate_certs=True)
        started = time.monotonic()
        outcome = run(module, lambda m: m.kube, module_exit)
    assert time.monotonic() - started < 15
    assert outcome.result["msg"].startswith("TLS verification of the Kubernetes API at {0} failed".format(server.url))
    assert "Give the cluster's CA with ca_cert" in outcome.result["msg"]
