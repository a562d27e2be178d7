"""cnv_hyperconverged: the uninstall guard (defect 1 of issue 11) and the HyperConverged spec."""

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.modules import cnv_hyperconverged as cnv

FORBIDDEN = {"kind": "Status", "code": 403, "reason": "Forbidden",
             "message": 'virtualmachines.kubevirt.io is forbidden: User "auto" cannot list resource "virtualmachines"'}


def absent_module(make_module, **params):
    return make_module(cnv.ARGUMENT_SPEC, {"progress": True}, state="absent", **params)


def test_a_refused_vm_list_fails_instead_of_reading_as_no_vms(make_module, apiserver):
    """Before: any ModuleError while listing VMs meant "no VMs", and the uninstall went ahead."""
    module = absent_module(make_module)
    apiserver.fail_next("GET", "/virtualmachines$", 403, body=FORBIDDEN)
    with pytest.raises(ModuleError) as err:
        cnv.absent(module)
    assert "may not list virtualmachines (kubevirt.io/v1) at cluster scope" in err.value.msg
    assert "Grant it the verb 'list'" in err.value.msg
    assert apiserver.calls("DELETE") == []


def test_a_server_error_after_backoff_fails_too(make_module, apiserver):
    module = absent_module(make_module)
    module.kube.retry_seconds = 1
    apiserver.fail_next("GET", "/datavolumes$", 503, times=100)
    with pytest.raises(ModuleError) as err:
        cnv.absent(module)
    assert "HTTP 503" in err.value.msg
    assert apiserver.calls("DELETE") == []


def test_vms_and_user_datavolumes_block_the_uninstall_by_name(make_module, apiserver):
    apiserver.put("virtualmachines", {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                                      "metadata": {"name": "vm1", "namespace": "apps"}})
    apiserver.put("datavolumes", {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                                  "metadata": {"name": "disk1", "namespace": "apps"}})
    apiserver.put("datavolumes", {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {
        "name": "rhel9-abc", "namespace": "os-images", "labels": {"cdi.kubevirt.io/dataImportCron": "rhel9-image-cron"}}})
    module = absent_module(make_module)
    with pytest.raises(ModuleError) as err:
        cnv.absent(module)
    assert err.value.msg.startswith("2 objects still use OpenShift Virtualization "
                                    "(VirtualMachine apps/vm1, DataVolume apps/disk1)")
    assert "rhel9-abc" not in err.value.msg
    assert apiserver.calls("DELETE") == []


def test_hyperconverged_spec_maps_options_and_refuses_repeats():
    params = dict((key, spec.get("default")) for key, spec in cnv.ARGUMENT_SPEC.items())
    params.update(feature_gates={"decentralizedLiveMigration": True}, eviction_strategy="LiveMigrate",
                  live_migration={"parallel_migrations_per_cluster": 5}, spec={"tuningPolicy": "highBurst"})
    spec, managed = cnv.hyperconverged_spec(params)
    assert spec == {"featureGates": {"decentralizedLiveMigration": True}, "evictionStrategy": "LiveMigrate",
                    "liveMigrationConfig": {"parallelMigrationsPerCluster": 5}, "tuningPolicy": "highBurst"}
    assert "spec.liveMigrationConfig.parallelMigrationsPerCluster" in managed
    with pytest.raises(ModuleError, match="spec repeats evictionStrategy"):
        cnv.hyperconverged_spec(dict(params, spec={"evictionStrategy": "None"}))


def test_negative_migration_limits_are_refused():
    params = dict((key, spec.get("default")) for key, spec in cnv.ARGUMENT_SPEC.items())
    params["live_migration"] = {"parallel_migrations_per_cluster": -1}
    with pytest.raises(ModuleError, match="live_migration.parallel_migrations_per_cluster must be at least 1"):
        cnv.hyperconverged_spec(params)
