"""The HyperConverged's core: what blocks an uninstall, and the wait for the boot sources' DataSources."""

import threading

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import hyperconverged
from ansible_collections.ontap.virtualization.plugins.module_utils.wait import WaitTimedOut
from ansible_collections.ontap.virtualization.plugins.modules.cnv_hyperconverged import ARGUMENT_SPEC


def test_no_virtualization_api_means_nothing_to_guard(make_module, apiserver):
    apiserver.group_versions = {}
    module = make_module(ARGUMENT_SPEC, {"progress": True}, state="absent")
    assert hyperconverged.still_in_use(module.kube) == []


BOOT_SOURCES = "os-images"
CDI = "cdi.kubevirt.io/v1beta1"


def cron(name, source):
    return {"apiVersion": CDI, "kind": "DataImportCron", "metadata": {"name": name, "namespace": BOOT_SOURCES},
            "spec": {"managedDataSource": source}}


def data_source(name, ready):
    return {"apiVersion": CDI, "kind": "DataSource", "metadata": {"name": name, "namespace": BOOT_SOURCES},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def later(delay, action):
    timer = threading.Timer(delay, action)
    timer.start()
    return timer


def test_the_boot_sources_wait_ends_once_every_cron_s_data_source_is_ready(make_module, apiserver):
    apiserver.put("dataimportcrons", cron("rhel9-image-cron", "rhel9"))
    apiserver.put("dataimportcrons", cron("fedora-image-cron", "fedora"))
    apiserver.put("datasources", data_source("rhel9", "True"))
    apiserver.put("datasources", data_source("unrelated", "False"))  # no cron manages it: not waited for
    later(0.2, lambda: apiserver.put("datasources", data_source("fedora", "False")))
    later(0.4, lambda: apiserver.update("datasources", BOOT_SOURCES, "fedora", {
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}}))
    module = make_module(ARGUMENT_SPEC, {"progress": True}, wait_timeout=10)
    ready = hyperconverged.wait_for_boot_sources(module, {"spec": {"commonBootImageNamespace": BOOT_SOURCES}})
    assert ready == ["os-images/fedora", "os-images/rhel9"]
    assert apiserver.get("datasources", BOOT_SOURCES, "fedora")["status"]["conditions"][0]["status"] == "True"


def test_a_boot_source_that_never_gets_ready_times_out_naming_it(make_module, apiserver):
    apiserver.put("dataimportcrons", cron("rhel9-image-cron", "rhel9"))
    apiserver.put("datasources", data_source("rhel9", "False"))
    module = make_module(ARGUMENT_SPEC, {"progress": True}, wait_timeout=1)
    with pytest.raises(WaitTimedOut) as err:
        hyperconverged.wait_for_boot_sources(module, {"spec": {"commonBootImageNamespace": BOOT_SOURCES}})
    assert "DataSource os-images/rhel9" in err.value.msg
    assert "Ready" in err.value.msg


def test_no_boot_sources_means_nothing_to_wait_for(make_module, apiserver):
    module = make_module(ARGUMENT_SPEC, {"progress": True}, wait_timeout=1)
    assert hyperconverged.wait_for_boot_sources(module, {"spec": {}}) == []
    assert [path for method, path, query in apiserver.requests if query.get("watch")] == []
