"""NetApp's own Python client (netapp_ontap) works against the stand-in unmodified.

The library builds URLs from ONTAP's API description, follows Location headers and
_links.next, polls jobs, and loads every response into models generated from ONTAP's
schema; each of those steps has to agree with the stand-in's wire format.
"""

import pytest
from netapp_ontap import HostConnection, config
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import (Cluster, Igroup, IgroupInitiator, IpInterface, Lun, LunMap, NvmeNamespace,
                                    NvmeSubsystem, NvmeSubsystemHost, NvmeSubsystemMap, Snapshot, Svm, Volume)

GIB = 1024 ** 3


@pytest.fixture(scope="module")
def connection(ontap):
    """A verified TLS connection as the cluster admin. requests lets REQUESTS_CA_BUNDLE win over
    a verify path, so the lab's CA goes there, as it would for anyone running these clients."""
    admin = ontap["cluster_admin"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", ontap["ca_cert"])
        patch.setattr(config, "RAISE_API_ERRORS", True)
        with HostConnection(ontap["hostname"], port=ontap["http_port"], username=admin["username"],
                            password=admin["password"], verify=True, poll_interval=1) as connection:
            yield connection


def test_cluster_and_svms(connection):
    cluster = Cluster()
    cluster.get(fields="version,name")
    assert cluster.name == "ontap-lab"
    assert (cluster.version.generation, cluster.version.major, cluster.version.minor) == (9, 16, 1)
    svms = {svm.name: svm for svm in Svm.get_collection(fields="nfs,iscsi,nvme,aggregates,state")}
    assert set(svms) == {"svm_virt", "svm_nas"}
    virt = svms["svm_virt"]
    assert virt.nfs.enabled and virt.iscsi.enabled and virt.nvme.enabled and virt.state == "running"
    assert sorted(a.name for a in virt.aggregates) == ["aggr1", "aggr2"]
    assert not svms["svm_nas"].iscsi.allowed


def test_collections_follow_next_links(connection):
    lifs = list(IpInterface.get_collection(max_records=2, fields="ip.address,services"))
    assert len(lifs) == 8
    assert all(lif.ip.address.startswith("127.0.") for lif in lifs)


def test_volume_create_resize_and_delete_through_jobs(connection):
    volume = Volume(name="client_vol", svm={"name": "svm_virt"}, aggregates=[{"name": "aggr1"}],
                    size=10 * GIB, guarantee={"type": "none"}, nas={"path": "/client_vol"})
    volume.post()  # 202, then the library polls the job and follows Location
    assert volume.uuid
    volume.get(fields="space,guarantee,nas")
    assert volume.space.size == 10 * GIB and volume.guarantee.type == "none" and volume.nas.path == "/client_vol"
    volume.size = 20 * GIB
    volume.patch()
    assert Volume.find(name="client_vol", fields="size").size == 20 * GIB
    volume.delete()
    assert Volume.find(name="client_vol") is None


def test_failed_job_raises(connection):
    too_big = Volume(name="client_too_big", svm={"name": "svm_virt"}, aggregates=[{"name": "aggr1"}],
                     size=50 * 1024 ** 4)
    with pytest.raises(NetAppRestError, match="not enough space in aggregate"):
        too_big.post()
    with pytest.raises(NetAppRestError) as missing:
        Volume(uuid="00000000-0000-0000-0000-000000000000").get()
    assert missing.value.http_err_response.http_response.status_code == 404


def test_snapshots_and_a_flexclone_from_one(connection):
    parent = Volume(name="client_parent", svm={"name": "svm_virt"}, aggregates=[{"name": "aggr2"}], size=5 * GIB)
    parent.post()
    snapshot = Snapshot(parent.uuid, name="client_snap", comment="before change")
    snapshot.post()
    assert [s.name for s in Snapshot.get_collection(parent.uuid)] == ["client_snap"]

    clone = Volume(name="client_clone", svm={"name": "svm_virt"},
                   clone={"parent_volume": {"name": "client_parent"}, "parent_snapshot": {"name": "client_snap"},
                          "is_flexclone": True})
    clone.post()
    clone.get(fields="clone,size,aggregates")
    assert clone.clone.is_flexclone and clone.clone.parent_snapshot.name == "client_snap"
    assert clone.size == 5 * GIB and clone.aggregates[0].name == "aggr2"
    parent.get(fields="clone.has_flexclone")
    assert parent.clone.has_flexclone

    with pytest.raises(NetAppRestError, match="in use by FlexClone"):
        snapshot.delete()
    clone.delete()
    snapshot.delete()
    assert list(Snapshot.get_collection(parent.uuid)) == []
    parent.delete()


def test_luns_igroups_and_maps(connection):
    Volume(name="client_san", svm={"name": "svm_virt"}, aggregates=[{"name": "aggr1"}], size=5 * GIB).post()
    lun = Lun(name="/vol/client_san/lun0", svm={"name": "svm_virt"}, os_type="linux", space={"size": 2 * GIB})
    lun.post()
    lun.get()
    assert len(lun.serial_number) == 12 and lun.location.volume.name == "client_san"

    igroup = Igroup(name="client_ig", svm={"name": "svm_virt"}, os_type="linux", protocol="iscsi",
                    initiators=[{"name": "iqn.1994-05.com.redhat:worker-0"}])
    igroup.post()
    IgroupInitiator(igroup.uuid, name="iqn.1994-05.com.redhat:worker-1").post()
    assert sorted(i.name for i in IgroupInitiator.get_collection(igroup.uuid)) == [
        "iqn.1994-05.com.redhat:worker-0", "iqn.1994-05.com.redhat:worker-1"]

    LunMap(svm={"name": "svm_virt"}, lun={"name": lun.name}, igroup={"name": "client_ig"}).post()
    lun_map = LunMap.find(**{"lun.name": lun.name}, fields="logical_unit_number,reporting_nodes")
    assert lun_map.logical_unit_number == 0 and len(lun_map.reporting_nodes) == 2
    lun.get(fields="status.mapped,lun_maps")
    assert lun.status.mapped and lun.lun_maps[0].igroup.name == "client_ig"

    with pytest.raises(NetAppRestError, match="mapped"):
        lun.delete()
    LunMap(lun={"uuid": lun.uuid}, igroup={"uuid": igroup.uuid}).delete()
    lun.delete()
    igroup.delete()


def test_nvme_namespace_subsystem_and_map(connection):
    Volume(name="client_nvme", svm={"name": "svm_virt"}, aggregates=[{"name": "aggr2"}], size=5 * GIB).post()
    namespace = NvmeNamespace(name="/vol/client_nvme/ns0", svm={"name": "svm_virt"}, os_type="linux",
                              space={"size": 2 * GIB, "block_size": 4096})
    namespace.post()
    subsystem = NvmeSubsystem(name="client_sub", svm={"name": "svm_virt"}, os_type="linux")
    subsystem.post()
    NvmeSubsystemHost(subsystem.uuid, nqn="nqn.2014-08.org.nvmexpress:uuid:worker-0").post()
    NvmeSubsystemMap(svm={"name": "svm_virt"}, subsystem={"name": "client_sub"},
                     namespace={"name": namespace.name}).post()

    namespace.get(fields="status.mapped,subsystem_map")
    assert namespace.status.mapped and namespace.subsystem_map.subsystem.name == "client_sub"
    subsystem.get()
    assert subsystem.target_nqn.endswith(":subsystem.client_sub")
    assert [h.nqn for h in subsystem.hosts] == ["nqn.2014-08.org.nvmexpress:uuid:worker-0"]

    with pytest.raises(NetAppRestError, match="has namespaces mapped"):
        subsystem.delete()
    subsystem.delete(allow_delete_while_mapped=True, allow_delete_with_hosts=True)
    namespace.get(fields="status.mapped")
    assert not namespace.status.mapped
    namespace.delete()
