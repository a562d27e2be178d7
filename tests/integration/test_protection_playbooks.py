"""The protection playbooks: each writes nothing under --check, does its work, and changes nothing the second time."""

import pytest

from protection import delete_namespace, make_vms

NAMESPACE = "protect-books"
VM = ("kubevirt.io", "v1", "virtualmachines")
VOLUME_SNAPSHOTS = ("snapshot.storage.k8s.io", "v1", "volumesnapshots")
PLAYBOOKS = [
    ("playbooks/snapshot.yml", {"snapshot_vms": ["pb-a"], "snapshot_name": "manual"}),
    ("playbooks/restore.yml", {"restore_vm": "pb-a", "restore_snapshot": "manual", "restore_target": "pb-restored"}),
    ("playbooks/clone.yml", {"clone_source": "pb-a", "clone_target": "pb-twin", "clone_method": "csi_clone"}),
    ("playbooks/scheduled_protection.yml", {"scheduled_selector": "protect=daily", "scheduled_keep": 1}),
]


@pytest.fixture(scope="module")
def runs(virtualization_stack, ansible, audit, core_v1):
    make_vms(ansible, NAMESPACE, ["pb-a"])
    found = {}
    for playbook, extra in PLAYBOOKS:
        extra = dict(extra, protection_namespace=NAMESPACE)
        mark = audit.mark()
        check = ansible(playbook, extra, check=True)
        found[playbook] = {"check": check, "check_writes": audit.writes_since(mark),
                           "first": ansible(playbook, extra), "second": ansible(playbook, extra)}
    yield found
    delete_namespace(core_v1, NAMESPACE)


@pytest.mark.parametrize("playbook", [p for p, _extra in PLAYBOOKS])
def test_each_playbook_checks_without_writing_then_runs_then_changes_nothing(runs, playbook):
    run = runs[playbook]
    assert run["check"].rc == 0, run["check"].output[-3000:]
    assert run["check_writes"] == []
    assert run["first"].rc == 0 and run["first"].changed >= 1, run["first"].output[-3000:]
    assert run["second"].rc == 0 and run["second"].changed == 0, run["second"].output[-3000:]


def test_the_playbooks_leave_what_they_say(runs, custom_objects):
    vms = {v["metadata"]["name"] for v in custom_objects.list_namespaced_custom_object(*VM[:2], NAMESPACE, VM[2])["items"]}
    assert {"pb-a", "pb-restored", "pb-twin"} <= vms
    snapshots = custom_objects.list_namespaced_custom_object(
        *VOLUME_SNAPSHOTS[:2], NAMESPACE, VOLUME_SNAPSHOTS[2], label_selector="ontap.virtualization/vm=pb-a")["items"]
    kept = {s["metadata"]["labels"]["ontap.virtualization/snapshot"] for s in snapshots
            if not s["metadata"].get("deletionTimestamp")}
    # keep 1: the manual set is pruned (deleted, or still being deleted while Trident splits the FlexClone
    # pb-restored's disk is made of, as it does when a snapshot a clone uses goes)
    assert len(kept) == 1 and kept.pop().startswith("daily-"), snapshots
