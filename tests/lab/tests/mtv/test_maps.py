"""NetworkMap and StorageMap validation against the inventory (pkg/controller/map/{network,storage}/
validation.go and pkg/controller/validation/provider.go at v2.12.5)."""

import pytest

from mtv_helpers import GROUP, MTV_NAMESPACE, PROVIDER, condition, unique

NETWORK_MAP = (GROUP, "NetworkMap")
STORAGE_MAP = (GROUP, "StorageMap")


@pytest.fixture
def source(kube, vsphere_provider, good_credentials) -> dict:
    provider = vsphere_provider(unique("vcenter"), good_credentials)
    meta = provider["metadata"]
    kube.wait(*PROVIDER, meta["name"], meta["namespace"], lambda p: (p.get("status") or {}).get("phase") == "Ready",
              "to be Ready")
    return {"name": meta["name"], "namespace": meta["namespace"]}


def _map(kube, kind, namespace, source, entries, destination=None) -> dict:
    created = kube.create({"apiVersion": kind[0], "kind": kind[1],
                           "metadata": {"name": unique("map"), "namespace": namespace},
                           "spec": {"provider": {"source": source,
                                                 "destination": destination or {"name": "host",
                                                                                 "namespace": MTV_NAMESPACE}},
                                    "map": entries}})
    meta = created["metadata"]
    return kube.wait(*kind, meta["name"], namespace,
                     lambda m: (m.get("status") or {}).get("observedGeneration") == meta["generation"],
                     "to be reconciled")


def test_a_network_map_of_known_port_groups_is_ready(kube, namespace, source):
    """network/validation.go validateSource (by name and by id), validateDestination pod / ignored;
    controller.go Reconcile: Ready "The network map is ready." (v2.12.5)."""
    mp = _map(kube, NETWORK_MAP, namespace, source, [
        {"source": {"name": "VM Network"}, "destination": {"type": "pod"}},
        {"source": {"name": "DC0_DVPG0"}, "destination": {"type": "ignored"}}])
    assert condition(mp, "Ready")["message"] == "The network map is ready."
    assert [r["name"] for r in mp["status"]["references"]] == ["VM Network", "DC0_DVPG0"]


def test_unknown_sources_warn_and_missing_nads_block(kube, namespace, source):
    """network/validation.go validateSource, validateDestination (v2.12.5): an unknown source is Warn
    NotFound; a missing NAD Critical NotFound; a multus destination without namespace Critical Ambiguous."""
    mp = _map(kube, NETWORK_MAP, namespace, source, [
        {"source": {"name": "no-such-network"}, "destination": {"type": "pod"}},
        {"source": {"name": "VM Network"}, "destination": {"type": "multus", "namespace": namespace,
                                                          "name": "missing"}},
        {"source": {"name": "DC0_DVPG0"}, "destination": {"type": "multus", "name": "nons"}},
        {"source": {}, "destination": {"type": "pod"}}])
    # One condition per type, set in order: NotFound (after the loop) replaces NotSet, Ambiguous replaces
    # NotFound, as SetCondition does upstream.
    source_refs = condition(mp, "SourceNetworkNotValid")
    assert (source_refs["category"], source_refs["reason"], source_refs["items"]) == (
        "Warn", "NotFound", [" id: name:'no-such-network' "])
    destination = condition(mp, "DestinationNetworkNotValid")
    assert (destination["category"], destination["reason"], destination["items"]) == ("Critical", "Ambiguous", ["nons"])
    assert not condition(mp, "Ready")


def test_a_storage_map_needs_its_storage_class(kube, namespace, source):
    """storage/validation.go validateDestination (v2.12.5): a class that does not exist is Critical
    DestinationStorageNotValid; an unknown datastore is Warn."""
    mp = _map(kube, STORAGE_MAP, namespace, source, [
        {"source": {"name": "LocalDS_0"}, "destination": {"storageClass": "no-such-class"}},
        {"source": {"name": "no-such-datastore"}, "destination": {"storageClass": "no-such-class"}}])
    missing = condition(mp, "DestinationStorageNotValid")
    assert (missing["category"], missing["items"]) == ("Critical", ["no-such-class", "no-such-class"])
    unknown = condition(mp, "SourceStorageNotValid")
    assert (unknown["category"], unknown["reason"], unknown["items"]) == (
        "Warn", "NotFound", [" id: name:'no-such-datastore' "])
    assert not condition(mp, "Ready")


def test_a_storage_map_of_a_known_datastore_to_an_existing_class_is_ready(kube, namespace, source, unserved_class):
    """storage/validation.go validateSource by id, validateDestination (v2.12.5)."""
    mp = _map(kube, STORAGE_MAP, namespace, source, [
        {"source": {"name": "nfs_ds1"}, "destination": {"storageClass": unserved_class, "volumeMode": "Block",
                                                        "accessMode": "ReadWriteMany"}}])
    assert condition(mp, "Ready")["message"] == "The storage map is ready."


def test_a_provider_that_is_not_ready_blocks_the_map(kube, namespace, vsphere_provider):
    """validation/provider.go ProviderPair (v2.12.5): SourceProviderNotReady when the provider lacks Ready,
    SourceProviderNotValid NotFound when it does not exist."""
    broken = vsphere_provider(unique("vcenter"), None)  # its Secret does not exist
    mp = _map(kube, NETWORK_MAP, namespace, {"name": broken["metadata"]["name"], "namespace": namespace},
              [{"source": {"name": "VM Network"}, "destination": {"type": "pod"}}])
    assert condition(mp, "SourceProviderNotReady")["message"] == (
        "The source provider does not have the Ready condition.")
    gone = _map(kube, NETWORK_MAP, namespace, {"name": "nothing", "namespace": namespace},
                [{"source": {"name": "VM Network"}, "destination": {"type": "pod"}}])
    assert condition(gone, "SourceProviderNotValid")["reason"] == "NotFound"
    assert not condition(gone, "Ready")
