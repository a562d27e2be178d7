import threading
import time

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import wait
from ansible_collections.ontap.virtualization.plugins.module_utils.wait import Waiter, WaitFailed


def widget(status=None):
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "ns1"},
           "spec": {}}
    if status is not None:
        obj["status"] = status
    return obj


def later(delay, action):
    timer = threading.Timer(delay, action)
    timer.start()
    return timer


def ref(kube):
    return kube.ref("example.com/v1", "Widget", "w1", "ns1")


def test_returns_at_once_when_already_true(kube, apiserver):
    apiserver.put("widgets", widget({"phase": "Bound"}))
    obj = Waiter(kube).until(ref(kube), wait.phase_in("Bound"), timeout=5)
    assert obj["status"]["phase"] == "Bound"
    assert not [q for m, p, q in apiserver.requests if q.get("watch")]


def test_ends_on_the_watch_event_that_satisfies_it(kube, apiserver):
    apiserver.put("widgets", widget({"phase": "Pending"}))
    later(0.3, lambda: apiserver.update("widgets", "ns1", "w1", {"status": {"phase": "Bound"}}))
    start = time.monotonic()
    obj = Waiter(kube).until(ref(kube), wait.phase_in("Bound"), timeout=10)
    assert obj["status"]["phase"] == "Bound"
    assert time.monotonic() - start < 2
    watches = [q for m, p, q in apiserver.requests if q.get("watch")]
    assert watches and watches[0]["resourceVersion"] and watches[0]["fieldSelector"] == "metadata.name=w1"


def test_progress_sees_every_step(kube, apiserver):
    apiserver.put("widgets", widget({"phase": "Pending"}))
    seen = []

    def steps():
        for phase in ("Scheduling", "Running", "Succeeded"):
            time.sleep(0.1)
            apiserver.update("widgets", "ns1", "w1", {"status": {"phase": phase}})

    later(0.1, steps)
    Waiter(kube, progress=lambda o: seen.append((o or {}).get("status", {}).get("phase"))).until(
        ref(kube), wait.phase_in("Succeeded"), timeout=10)
    assert seen == ["Pending", "Scheduling", "Running", "Succeeded"]


def test_conditions_and_fields(kube, apiserver):
    apiserver.put("widgets", widget({"conditions": [{"type": "Available", "status": "False"}]}))
    later(0.2, lambda: apiserver.update("widgets", "ns1", "w1", {"status": {
        "conditions": [{"type": "Available", "status": "True", "reason": "AsExpected"}], "ready": True}}))
    predicate = wait.all_of(wait.condition("Available", reason="AsExpected"), wait.field_equals("status.ready", True))
    obj = Waiter(kube).until(ref(kube), predicate, timeout=10)
    assert obj["status"]["ready"] is True


def test_relists_after_the_watch_expires(kube, apiserver):
    apiserver.put("widgets", widget({"phase": "Pending"}))

    def expire_then_flip():
        apiserver.expire_watches()
        time.sleep(0.7)
        apiserver.update("widgets", "ns1", "w1", {"status": {"phase": "Bound"}})

    later(0.2, expire_then_flip)
    obj = Waiter(kube).until(ref(kube), wait.phase_in("Bound"), timeout=10)
    assert obj["status"]["phase"] == "Bound"
    lists = [q for m, p, q in apiserver.requests if m == "GET" and p.endswith("/widgets") and not q.get("watch")]
    assert len(lists) >= 2


def test_relists_after_a_broken_connection(kube, apiserver):
    apiserver.put("widgets", widget({"phase": "Pending"}))
    apiserver.fail_next("GET", "/widgets$", 503, times=1)
    later(0.3, lambda: apiserver.update("widgets", "ns1", "w1", {"status": {"phase": "Bound"}}))
    assert Waiter(kube).until(ref(kube), wait.phase_in("Bound"), timeout=10)["status"]["phase"] == "Bound"


def test_timeout_reports_last_status_and_what_is_missing(kube, apiserver):
    apiserver.put("widgets", widget({"phase": "Pending", "message": "waiting for backend"}))
    with pytest.raises(WaitFailed) as err:
        Waiter(kube).until(ref(kube), wait.all_of(wait.phase_in("Bound"), wait.condition("Ready")), timeout=1)
    message = err.value.msg
    assert "Timed out after 1s waiting for Widget ns1/w1" in message
    assert "status.phase is one of Bound; condition Ready=True" in message
    assert "waiting for backend" in message
    assert err.value.details["last_status"]["phase"] == "Pending"


def test_fail_when_stops_early(kube, apiserver):
    apiserver.put("widgets", widget({"phase": "Pending"}))
    later(0.2, lambda: apiserver.update("widgets", "ns1", "w1", {"status": {"phase": "Failed", "message": "no SVM"}}))
    start = time.monotonic()
    with pytest.raises(WaitFailed) as err:
        Waiter(kube).until(ref(kube), wait.phase_in("Bound"), timeout=20, fail_when=wait.phase_in("Failed"))
    assert time.monotonic() - start < 5
    assert "no SVM" in err.value.msg


def test_waits_for_deletion(kube, apiserver):
    apiserver.put("widgets", widget({"phase": "Bound"}))
    later(0.3, lambda: apiserver.remove("widgets", "ns1", "w1"))
    assert Waiter(kube).until_absent(ref(kube), timeout=10) is None


def test_waits_for_creation(kube, apiserver):
    later(0.3, lambda: apiserver.put("widgets", widget({"phase": "Bound"})))
    assert Waiter(kube).until(ref(kube), wait.exists(), timeout=10) is not None


def named(name, phase):
    obj = widget({"phase": phase})
    obj["metadata"]["name"] = name
    return obj


def test_many_objects_are_waited_on_with_one_watch(kube, apiserver):
    for name in ("w1", "w2", "w3"):
        apiserver.put("widgets", named(name, "Pending"))

    def steps():
        for name in ("w3", "w1", "w2"):
            time.sleep(0.1)
            apiserver.update("widgets", "ns1", name, {"status": {"phase": "Bound"}})

    later(0.2, steps)
    found = Waiter(kube).until_each(kube.ref("example.com/v1", "Widget", namespace="ns1"), ["w1", "w2", "w3"],
                                    wait.phase_in("Bound"), timeout=10, label_selector="set=a")
    assert {name: obj["status"]["phase"] for name, obj in found.items()} == dict.fromkeys(["w1", "w2", "w3"], "Bound")
    watches = [q for m, p, q in apiserver.requests if q.get("watch")]
    assert len(watches) == 1 and watches[0]["labelSelector"] == "set=a" and "fieldSelector" not in watches[0]


def test_a_wait_on_many_names_those_still_missing(kube, apiserver):
    apiserver.put("widgets", named("w1", "Bound"))
    apiserver.put("widgets", named("w2", "Pending"))
    with pytest.raises(WaitFailed) as err:
        Waiter(kube).until_each(kube.ref("example.com/v1", "Widget", namespace="ns1"), ["w1", "w2", "w3"],
                                wait.phase_in("Bound"), timeout=1, label_selector="set=a")
    assert "waiting for Widget ns1/w2" in err.value.msg and "and 1 more of its kind: w3" in err.value.msg
