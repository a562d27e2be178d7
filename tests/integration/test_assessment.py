"""migration_assessment against the lab's vcsim and ONTAP: every seeded concern, nothing written, waves, capacity.

The VMs are the lab's seeded inventory (tests/lab/vcsim_inventory.py: one VM per concern); the
rules restate kubev2v/forklift v2.12.5 validation/policies/io/konveyor/forklift/vmware/*.rego, and
the lab's own Forklift tests (tests/lab/tests/mtv/test_inventory.py) assert the same concerns on the
same VMs. What is asserted is what the module returned, what the API server's audit log shows it
wrote (nothing), and what vCenter and ONTAP hold afterwards.
"""

import json

import pytest
from protection import PLAY, Ontap, result_of

SEEDED = ["rhel9-postgres", "rhel9-web", "rhel9-app", "win2022-files", "rhel8-stopped", "cbt-off", "with-snapshot",
          "tools-not-running", "Legacy_App01", "independent-disk", "rdm-disk", "shared-disk", "usb-controller",
          "pci-passthrough"]
# VM -> (rule, category, status) of its one seeded concern (vcsim_inventory.VMS).
CONCERNS = {
    "cbt-off": ("changed_block_tracking", "Warning", "ready_with_warnings"),
    "with-snapshot": ("snapshot", "Information", "ready"),
    "tools-not-running": ("guest_tools", "Critical", "blocked"),
    "Legacy_App01": ("name", "Warning", "ready_with_warnings"),
    "independent-disk": ("disk_mode", "Warning", "ready_with_warnings"),
    "rdm-disk": ("rdm_disk", "Warning", "ready_with_warnings"),
    "shared-disk": ("shared_disk", "Warning", "ready_with_warnings"),
    "usb-controller": ("usb_controller", "Warning", "ready_with_warnings"),
    "pci-passthrough": ("passthrough_device", "Critical", "blocked"),
}
HEALTHY = ["rhel9-postgres", "rhel9-web", "rhel9-app", "win2022-files"]
GiB = 1024 ** 3


def _ontap(lab):
    ontap = lab.vars["ontap"]
    return {"management_lif": ontap["management_lif"], "username": ontap["cluster_admin"]["username"],
            "password": ontap["cluster_admin"]["password"], "svm": "svm_virt", "validate_certs": False}


def _assess(ansible, lab, check=False, **args):
    run = ansible(PLAY % ("migration_assessment", json.dumps(dict({"vcenter": lab.vcenter()}, **args))), check=check)
    return run, result_of(run)


def test_every_seeded_concern_is_reported_with_its_fix_and_nothing_is_written(ansible, lab, audit):
    """Each concern VM gets its rule's reason, category and fix (the .rego file named by the rule); the healthy
    VMs are ready; the API server saw no write, in check mode or not, and vCenter still holds CBT off."""
    for check in (True, False):
        mark = audit.mark()
        run, result = _assess(ansible, lab, check=check, select={"names": SEEDED}, target={"namespace": "default"},
                              ontap=_ontap(lab))
        assert run.rc == 0 and not result.get("failed"), run.output[-3000:]
        assert audit.writes_since(mark) == []
        assert result["changed"] is False and result["changes"] == []
        assessment = result["assessment"]
        rows = dict((row["name"], row) for row in assessment["vms"])
        assert sorted(rows) == sorted(SEEDED)
        for name, (rule, category, status) in CONCERNS.items():
            found = [r for r in rows[name]["reasons"] if r["rule"] == rule]
            assert found, (name, rows[name]["reasons"])
            assert found[0]["category"] == category and found[0]["fix"] and found[0]["message"]
            assert rows[name]["status"] == status, (name, rows[name]["reasons"])
        for name in HEALTHY:
            assert rows[name]["status"] == "ready", rows[name]["reasons"]
        assert rows["Legacy_App01"]["target_name"] == "legacy-app01"
        assert rows["rhel9-web"]["datastores"] == ["LocalDS_0", "nfs_ds1"]
        assert rows["rhel9-postgres"]["disk_gib"] == 20.0 and rows["rhel9-postgres"]["memory_mib"] == 20480
        assert assessment["summary"]["total"] == len(SEEDED) and assessment["summary"]["blocked"] == 2
        assert assessment["source"] == "vcenter" and assessment["unanswered"] == []
        assert 1 <= assessment["round_trips"] <= 10  # one paged retrieval, not one call per VM
    assert lab.vars["vcsim_password"] not in run.output and _ontap(lab)["password"] not in run.output


def test_fix_cbt_enables_it_in_vcenter_and_says_when_it_takes_effect(ansible, lab, audit):
    """fix: [cbt] reconfigures only the VM without CBT; check mode only says it would. CBT is turned off again
    afterwards: the seeded cbt-off VM is shared with the lab's Forklift tests."""
    mark = audit.mark()
    try:
        run, result = _assess(ansible, lab, check=True, select={"names": ["cbt-off", "rhel9-postgres"]}, fix=["cbt"])
        assert run.rc == 0 and result["changed"] is True, run.output[-3000:]
        assert result["changes"] == ["would enable CBT on VM cbt-off (effective after its next power cycle or "
                                     "snapshot)"]
        assert _cbt(lab, "cbt-off") is False
        run, result = _assess(ansible, lab, select={"names": ["cbt-off"]}, fix=["cbt"])
        assert run.rc == 0 and result["changes"][0].startswith("enabled CBT on VM cbt-off"), run.output[-3000:]
        assert _cbt(lab, "cbt-off") is True
        run, result = _assess(ansible, lab, select={"names": ["cbt-off"]}, fix=["cbt"])
        assert result["changed"] is False and result["changes"] == []
        assert audit.writes_since(mark) == []
    finally:
        _cbt(lab, "cbt-off", set_to=False)


def _cbt(lab, name, set_to=None):
    """The VM's config.changeTrackingEnabled in vcsim (after setting it, with ``set_to``)."""
    from lab import vcsim_inventory
    from pyVmomi import vim

    service = vcsim_inventory.connect(lab.vars["vcsim_host"], lab.vars["vcsim_port"], lab.vars["vcsim_username"],
                                      lab.vars["vcsim_password"], lab.vars["ca_cert"])
    try:
        content = service.RetrieveContent()
        vm = content.searchIndex.FindByInventoryPath("/DC0/vm/" + name)
        if set_to is not None:
            vcsim_inventory.wait(vm.ReconfigVM_Task(vim.vm.ConfigSpec(changeTrackingEnabled=set_to)))
        return bool(vm.config.changeTrackingEnabled)
    finally:
        vcsim_inventory.Disconnect(service)


@pytest.fixture
def nearly_full_svm(lab):
    """svm_virt's two aggregates filled with thick volumes (as an admin would) until 45 GiB are free; undone after."""
    ontap = Ontap(dict(lab.vars["ontap"], url="https://" + lab.vars["ontap"]["management_lif"]))
    aggregates = ontap.records("storage/aggregates", fields="name,space.block_storage.available")
    leave = {aggregates[0]["name"]: 0, aggregates[1]["name"]: 45 * GiB}
    made = []
    try:
        for aggregate in aggregates:
            size = aggregate["space"]["block_storage"]["available"] - leave[aggregate["name"]]
            name = "assess_filler_" + aggregate["name"]
            answer = ontap.session.post(ontap.url + "/api/storage/volumes", params={"return_timeout": 120}, json={
                "name": name, "svm": {"name": "svm_virt"}, "aggregates": [{"name": aggregate["name"]}],
                "size": size, "guarantee": {"type": "volume"}})
            assert answer.status_code in (200, 201, 202), answer.text
            made.append(name)
        yield 45 * GiB
    finally:
        for name in made:
            volume = ontap.volume(name)
            if volume:
                ontap.session.delete(ontap.url + "/api/storage/volumes/" + volume["uuid"],
                                     params={"return_timeout": 120})


def test_a_wave_the_svm_has_no_room_for_is_refused(ansible, lab, audit, nearly_full_svm):
    """With 45 GiB free, waves of one VM in name order: rhel9-app (28 GiB) fits; rhel9-postgres (20 GiB) would make
    48 GiB and is refused, with rhel9-web after it; their VMs are blocked with the numbers and the fix."""
    mark = audit.mark()
    run, result = _assess(ansible, lab, select={"names": ["rhel9-postgres", "rhel9-web", "rhel9-app"]},
                          ontap=_ontap(lab), waves={"prefix": "lab", "max_vms": 1})
    assert run.rc == 0, run.output[-3000:]
    assert [(w["name"], w["vms"], w["disk_gib"]) for w in result["waves"]] == [("lab-wave-1", ["rhel9-app"], 28.0)]
    rows = dict((row["name"], row) for row in result["assessment"]["vms"])
    assert rows["rhel9-app"]["status"] == "ready"
    for name in ("rhel9-postgres", "rhel9-web"):
        capacity = [r for r in rows[name]["reasons"] if r["rule"] == "ontap_capacity"]
        assert rows[name]["status"] == "blocked" and capacity and capacity[0]["category"] == "Critical"
        assert "45.0 GiB free" in capacity[0]["message"] and capacity[0]["fix"]
    assert "needs 20.0 GiB after 28.0 GiB" in json.dumps(rows["rhel9-postgres"]["reasons"])
    assert audit.writes_since(mark) == []


def test_bad_input_fails_before_anything_is_read(ansible, lab):
    run, result = _assess(ansible, lab, page_size=0, waves={"prefix": "Bad_Prefix", "max_vms": 0})
    assert result.get("failed") and "page_size must be at least 1" in result["msg"]
    assert "waves.max_vms" in result["msg"] and "waves.prefix" in result["msg"]
