"""The claims behind VM volumes and the VolumeSnapshotClass that serves them
(KubeVirt's getVolumeSnapshotClassName)."""

from typing import Optional

DEFAULT_VSC_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"


def volume_snapshot_class(api, storage_class_name: str) -> tuple:
    """(class name or "", error text or None) for volumes of ``storage_class_name``."""
    storage_class = api.get("storage.k8s.io/v1", "StorageClass", storage_class_name)
    if storage_class is None:
        return "", None
    profile = api.get("cdi.kubevirt.io/v1beta1", "StorageProfile", storage_class_name)
    preferred = ((profile or {}).get("status") or {}).get("snapshotClass")
    if preferred:
        found = api.get("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass", preferred)
        return (preferred if found else ""), None
    matches = [c for c in api.list("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass")
               if c.get("driver") == storage_class.get("provisioner")]
    if not matches:
        return "", None
    if len(matches) == 1:
        return matches[0]["metadata"]["name"], None
    for candidate in matches:
        if DEFAULT_VSC_ANNOTATION in (candidate["metadata"].get("annotations") or {}):
            return candidate["metadata"]["name"], None
    return "", f"{len(matches)} matching VolumeSnapshotClasses for {storage_class_name}"


def volume_claim(volume: dict) -> Optional[str]:
    """The PVC a VM/VMI volume uses (a DataVolume's PVC has the DataVolume's name)."""
    if volume.get("persistentVolumeClaim"):
        return volume["persistentVolumeClaim"].get("claimName")
    if volume.get("dataVolume"):
        return volume["dataVolume"].get("name")
    return None


def vmi_volumes(vmi: dict) -> list:
    return (vmi.get("spec") or {}).get("volumes") or []


def claims(vmi: dict) -> list:
    """[(volume name, PVC name, is DataVolume)] of the VMI's persistent volumes."""
    out = []
    for volume in vmi_volumes(vmi):
        claim = volume_claim(volume)
        if claim:
            out.append((volume["name"], claim, bool(volume.get("dataVolume"))))
    return out
