"""playbooks/site.yml, the main job, against the lab with its example inventory (what `make demo` runs)."""

import pytest

SITE = "playbooks/site.yml"


@pytest.fixture(scope="module")
def site(ansible, audit):
    first = ansible(SITE)
    second = ansible(SITE)
    mark = audit.mark()
    check = ansible(SITE, check=True)
    return {"first": first, "second": second, "check": check, "check_writes": audit.writes_since(mark),
            "report": ansible("playbooks/report.yml")}


def test_site_runs(site):
    assert site["first"].rc == 0, site["first"].output[-4000:]
    assert "can live-migrate" in site["first"].output


def test_second_run_changes_nothing(site):
    assert site["second"].rc == 0, site["second"].output[-4000:]
    assert site["second"].changed == 0, site["second"].output[-4000:]


def test_check_mode_writes_nothing(site):
    assert site["check"].rc == 0, site["check"].output[-4000:]
    assert site["check_writes"] == []


def test_vm_runs_on_ontap_luns(site, custom_objects, core_v1):
    vm = custom_objects.get_namespaced_custom_object("kubevirt.io", "v1", "vms", "virtualmachines", "rhel9-on-ontap")
    assert vm["status"]["printableStatus"] == "Running"
    vmi = custom_objects.get_namespaced_custom_object("kubevirt.io", "v1", "vms", "virtualmachineinstances",
                                                      "rhel9-on-ontap")
    assert vmi["status"]["nodeName"].startswith("worker-")
    for claim in ("rhel9-on-ontap-root", "rhel9-on-ontap-data"):
        pvc = core_v1.read_namespaced_persistent_volume_claim(claim, "vms")
        assert pvc.spec.volume_mode == "Block" and pvc.spec.access_modes == ["ReadWriteMany"]
        pv = core_v1.read_persistent_volume(pvc.spec.volume_name)
        assert pv.spec.csi.driver == "csi.trident.netapp.io"
        assert pv.spec.csi.volume_attributes["internalName"].startswith("trident_pvc_")


def test_report_names_backends_version_vm_and_ontap_volumes(site):
    report = site["report"].output
    assert site["report"].rc == 0, report[-3000:]
    assert "ontap-san-iscsi: ontap-san/iscsi on SVM svm_virt, Bound (Success)" in report
    assert "OpenShift Virtualization: 4." in report and "Available=True" in report
    assert "rhel9-on-ontap: Running on worker-" in report and "-> ONTAP block trident_pvc_" in report
