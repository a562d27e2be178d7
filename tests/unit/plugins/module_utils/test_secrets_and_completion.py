"""Collection-owned Secrets and work that runs to a terminal phase."""

import threading
import time

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import secrets, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.complete import run_to_completion
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError


def test_secret_is_made_ours_and_values_never_reach_the_diff(make_module, apiserver):
    module = make_module({}, diff=True)
    secrets.ensure(module, "ns1", "creds", {"username": "admin", "password": "s3cret!"})
    made = apiserver.get("secrets", "ns1", "creds")
    assert made["metadata"]["labels"] == {secrets.MANAGED_BY: secrets.COLLECTION}
    result = module.result()
    assert "s3cret" not in repr(result) and "czNjcmV0" not in repr(result)
    assert result["changes"] == ["created Secret ns1/creds"]


def test_a_secret_someone_else_made_is_never_overwritten(make_module, apiserver):
    apiserver.put("secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "ns1"},
                              "data": {"username": "b3RoZXI="}})
    with pytest.raises(ModuleError, match="was not made by this collection"):
        secrets.ensure(make_module({}), "ns1", "creds", {"username": "admin", "password": "x"})
    assert apiserver.calls("PATCH") == []


def test_require_names_missing_keys(make_module, apiserver):
    apiserver.put("secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "ns1"},
                              "data": {"username": "YQ=="}})
    with pytest.raises(ModuleError) as err:
        secrets.require(make_module({}), "ns1", "creds", ["username", "password"], "give them to the module")
    assert err.value.msg == "Secret ns1/creds lacks the key password. Add it, or give them to the module."


def test_release_deletes_only_our_unused_secret(make_module, apiserver):
    module = make_module({})
    secrets.ensure(module, "ns1", "ours", {"a": "1"})
    apiserver.put("secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "theirs", "namespace": "ns1"}})
    assert secrets.release(module, "ns1", "ours", still_used=True) is None
    assert secrets.release(module, "ns1", "theirs", still_used=False) is None
    assert secrets.release(module, "ns1", "ours", still_used=False).changed
    assert apiserver.get("secrets", "ns1", "ours") is None and apiserver.get("secrets", "ns1", "theirs") is not None


def work(name="job-1"):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "ns1"},
            "spec": {"size": 1}}


def finish_later(apiserver, phase):
    """The controller's part: once the work exists, it ends in ``phase``."""
    def finish():
        deadline = time.monotonic() + 20
        while apiserver.get("widgets", "ns1", "job-1") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        apiserver.update("widgets", "ns1", "job-1", {"status": {"phase": phase}})

    threading.Thread(target=finish, daemon=True).start()


def test_work_is_created_once_and_followed_to_its_end(make_module, apiserver):
    done, failed = wait.phase_in("Succeeded"), wait.phase_in("Failed")
    finish_later(apiserver, "Succeeded")
    assert run_to_completion(make_module({}, wait_timeout=10), work(), done, failed)["status"]["phase"] == "Succeeded"
    again = make_module({}, wait_timeout=10)
    run_to_completion(again, dict(work(), spec={"size": 2}), done, failed)
    assert [q for m, p, q in apiserver.requests if m == "POST"] == [{"dryRun": "All"}, {}], "created once"
    assert apiserver.calls("PATCH") == [] and again.result()["changed"] is False


def test_failed_work_fails_with_its_status_and_a_timeout_leaves_it_running(make_module, apiserver):
    done, failed = wait.phase_in("Succeeded"), wait.phase_in("Failed")
    with pytest.raises(ModuleError) as err:
        run_to_completion(make_module({}, wait_timeout=1), work(), done, failed)
    assert "It is left running: run again to follow it, or delete Widget ns1/job-1 to stop it." in err.value.msg
    finish_later(apiserver, "Failed")
    with pytest.raises(wait.WaitFailed, match="reached a state it cannot recover from"):
        run_to_completion(make_module({}, wait_timeout=10), work(), done, failed)


def test_a_module_whose_work_times_out_leaves_the_work_running(make_module, apiserver, module_exit):
    done, failed = wait.phase_in("Succeeded"), wait.phase_in("Failed")
    module = make_module({}, wait_timeout=1)
    with pytest.raises(module_exit) as ended:
        module.run(lambda m: run_to_completion(m, work(), done, failed))
    assert ended.value.failed and "It is left running" in ended.value.result["msg"]
    assert "Undone" not in ended.value.result["msg"]
    assert apiserver.get("widgets", "ns1", "job-1") is not None, "the work the run created is still there"


def test_a_later_step_s_failure_undoes_neither_finished_work_nor_leaves_what_is_half_made(
        make_module, apiserver, module_exit):
    """Work that ran to its end is done, not half-made: a failure after it removes only what is unfinished, so a rerun
    finds the work (a VirtualMachineClone whose target VM exists, a restore) instead of refusing what it made."""
    done, failed = wait.phase_in("Succeeded"), wait.phase_in("Failed")
    finish_later(apiserver, "Succeeded")
    module = make_module({}, wait_timeout=10)

    def work_then_a_failing_step(m):
        run_to_completion(m, work(), done, failed)
        m.ensurer.present(work("half-made"), [])
        raise ModuleError("the next step failed")

    with pytest.raises(module_exit) as ended:
        module.run(work_then_a_failing_step)
    assert ended.value.failed
    assert ended.value.result["msg"] == ("the next step failed. Undone, to leave nothing half-made: removed Widget "
                                         "ns1/half-made.")
    assert apiserver.get("widgets", "ns1", "job-1")["status"]["phase"] == "Succeeded"
    assert apiserver.get("widgets", "ns1", "half-made") is None
