"""Helpers for the virtualization tests: a small client over the dynamic API, waits, VM bodies.

Everything goes through the Kubernetes API, as the collection does; the simulated operators
(OLM, HCO, KubeVirt, CDI, Trident) answer.
"""

import json
import uuid

from kubernetes.client.exceptions import ApiException

from lab.tests.shared import (CNV, CSV, DV, HC, HCO_PACKAGE, OPERATOR_GROUP, SUBSCRIPTION, TIMEOUT, VM, VMI,  # noqa: F401
                              Kube, condition, restart_controllers, wait_for)

OS_IMAGES = "openshift-virtualization-os-images"
DRIVER = "csi.trident.netapp.io"

VMIM = ("kubevirt.io/v1", "VirtualMachineInstanceMigration")
KUBEVIRT = ("kubevirt.io/v1", "KubeVirt")
CDI = ("cdi.kubevirt.io/v1beta1", "CDI")
DATA_SOURCE = ("cdi.kubevirt.io/v1beta1", "DataSource")
DIC = ("cdi.kubevirt.io/v1beta1", "DataImportCron")
INSTALL_PLAN = ("operators.coreos.com/v1alpha1", "InstallPlan")
CATALOG_SOURCE = ("operators.coreos.com/v1alpha1", "CatalogSource")
VMSNAPSHOT = ("snapshot.kubevirt.io/v1beta1", "VirtualMachineSnapshot")
VMSNAPSHOT_CONTENT = ("snapshot.kubevirt.io/v1beta1", "VirtualMachineSnapshotContent")
VMRESTORE = ("snapshot.kubevirt.io/v1beta1", "VirtualMachineRestore")
VMCLONE = ("clone.kubevirt.io/v1beta1", "VirtualMachineClone")
VOLUME_SNAPSHOT = ("snapshot.storage.k8s.io/v1", "VolumeSnapshot")
VOLUME_SNAPSHOT_CLASS = ("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass")
STORAGE_CLASS = ("storage.k8s.io/v1", "StorageClass")
PVC = ("v1", "PersistentVolumeClaim")
POD = ("v1", "Pod")
NODE = ("v1", "Node")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def message(error: ApiException) -> str:
    try:
        return json.loads(error.body)["message"]
    except (TypeError, ValueError, KeyError):
        return str(error)


# --- OLM ---------------------------------------------------------------------------------------

PACKAGE = HCO_PACKAGE


def operator_group(kube: Kube, namespace: str, targets=None, name="og") -> dict:
    spec = {} if targets is None else {"targetNamespaces": targets}
    return kube.create({"apiVersion": OPERATOR_GROUP[0], "kind": "OperatorGroup",
                        "metadata": {"name": name, "namespace": namespace}, "spec": spec})


def subscribe(kube: Kube, namespace: str, package=PACKAGE, channel="stable", approval="Automatic",
              starting=None, source="redhat-operators", name="sub") -> dict:
    spec = {"source": source, "sourceNamespace": "openshift-marketplace", "name": package, "channel": channel,
            "installPlanApproval": approval}
    if starting:
        spec["startingCSV"] = starting
    return kube.create({"apiVersion": SUBSCRIPTION[0], "kind": "Subscription",
                        "metadata": {"name": name, "namespace": namespace}, "spec": spec})


def sub_status(kube: Kube, namespace: str, name="sub") -> dict:
    return (kube.get(*SUBSCRIPTION, name, namespace) or {}).get("status") or {}


def wait_csv(kube: Kube, namespace: str, name: str, phase: str = "Succeeded", timeout=60) -> dict:
    return kube.wait(*CSV, name, namespace, lambda c: (c.get("status") or {}).get("phase") == phase,
                     f"to be {phase}", timeout)


# --- VirtualMachines ----------------------------------------------------------------------------

def vm_body(name: str, storage_class: str, data_source: str = "rhel9", run_strategy: str = "Always",
            instancetype: str = "u1.small", preference: str = "rhel.9", size: str = "30Gi",
            extra_disks=(), template_spec=None, **spec) -> dict:
    """A VM booting from a boot source (DataSource in openshift-virtualization-os-images).

    ``data_source=None`` gives it a blank root disk instead (a blank DataVolume).
    """
    disks = [{"name": "rootdisk", "disk": {"bus": "virtio"}}]
    volumes = [{"name": "rootdisk", "dataVolume": {"name": f"{name}-rootdisk"}}]
    for disk_name, claim in extra_disks:
        disks.append({"name": disk_name, "disk": {"bus": "virtio"}})
        volumes.append({"name": disk_name, "persistentVolumeClaim": {"claimName": claim}})
    body = {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "runStrategy": run_strategy,
            "instancetype": {"name": instancetype},
            "preference": {"name": preference},
            "dataVolumeTemplates": [{
                "metadata": {"name": f"{name}-rootdisk"},
                "spec": {**({"sourceRef": {"kind": "DataSource", "name": data_source, "namespace": OS_IMAGES}}
                            if data_source else {"source": {"blank": {}}}),
                         "storage": {"storageClassName": storage_class,
                                     "resources": {"requests": {"storage": size}}}}}],
            "template": {"metadata": {"labels": {"kubevirt.io/domain": name}},
                         "spec": {"domain": {"devices": {"disks": disks}}, "volumes": volumes,
                                  **(template_spec or {})}},
            **spec,
        },
    }
    if run_strategy is None:
        del body["spec"]["runStrategy"]
    return body


def pvc_body(name: str, storage_class: str, access_mode: str = "ReadWriteMany", volume_mode: str = "Block",
             size: str = "1Gi", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"storageClassName": storage_class, "accessModes": [access_mode], "volumeMode": volume_mode,
                     "resources": {"requests": {"storage": size}}, **spec}}


def wait_vm_running(kube: Kube, namespace: str, name: str, timeout: float = 180) -> dict:
    return kube.wait(*VM, name, namespace, lambda vm: (vm.get("status") or {}).get("printableStatus") == "Running"
                     and (vm.get("status") or {}).get("ready"), "to be Running and ready", timeout)


def wait_vm_stopped(kube: Kube, namespace: str, name: str, timeout: float = TIMEOUT) -> dict:
    return kube.wait(*VM, name, namespace, lambda vm: (vm.get("status") or {}).get("printableStatus") == "Stopped"
                     and kube.get(*VMI, name, namespace) is None, "to be Stopped", timeout)


def launcher_pods(kube: Kube, namespace: str, vmi_name: str) -> list:
    return [p for p in kube.list(*POD, namespace, label_selector="kubevirt.io=virt-launcher")
            if (p["metadata"].get("labels") or {}).get("vm.kubevirt.io/name") == vmi_name]


def migrate(kube: Kube, namespace: str, vmi_name: str) -> dict:
    return kube.create({"apiVersion": VMIM[0], "kind": VMIM[1],
                        "metadata": {"generateName": f"{vmi_name}-migration-", "namespace": namespace},
                        "spec": {"vmiName": vmi_name}})


def wait_migration(kube: Kube, migration: dict, phases=("Succeeded",), timeout: float = TIMEOUT) -> dict:
    meta = migration["metadata"]
    return kube.wait(*VMIM, meta["name"], meta["namespace"],
                     lambda m: (m.get("status") or {}).get("phase") in phases, f"to reach {'/'.join(phases)}", timeout)


def evict(core_v1, namespace: str, pod: str):
    """POST pods/eviction as kubectl drain does; returns None when granted, else the ApiException."""
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": namespace}}
    try:
        core_v1.create_namespaced_pod_eviction(pod, namespace, body)
        return None
    except ApiException as error:
        return error


def blank_vm(name: str, storage_class: str, **kwargs) -> dict:
    """A VM with a blank 4Gi root disk (no boot source involved)."""
    return vm_body(name, storage_class, data_source=None, size=kwargs.pop("size", "4Gi"), **kwargs)


def unsnapshottable_claim(kube: Kube, namespace: str, name: str, storage_class: str = "virt-local-nosnap") -> dict:
    """A bound claim on a class no VolumeSnapshotClass serves (a static local volume, no CSI driver)."""
    kube.ensure({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": storage_class},
                 "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate",
                 "reclaimPolicy": "Delete"})
    volume = f"{namespace}-{name}"
    kube.create({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume},
                 "spec": {"storageClassName": storage_class, "capacity": {"storage": "1Gi"},
                          "accessModes": ["ReadWriteMany"], "volumeMode": "Filesystem",
                          "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": f"/var/lab/{volume}"},
                          "claimRef": {"namespace": namespace, "name": name}}})
    kube.create(pvc_body(name, storage_class, volume_mode="Filesystem"), namespace)
    return kube.wait(*PVC, name, namespace, lambda c: (c.get("status") or {}).get("phase") == "Bound", "to bind")


def claim_vm(kube: Kube, namespace: str, name: str, storage_class: str, run_strategy: str = "Always",
             size: str = "4Gi", **kwargs) -> dict:
    """A VM whose root disk is a plain PVC (created here, RWX Block), not a DataVolume of the VM."""
    claim = f"{name}-disk"
    kube.create(pvc_body(claim, storage_class, size=size), namespace)
    body = blank_vm(name, storage_class, run_strategy=run_strategy, **kwargs)
    body["spec"].pop("dataVolumeTemplates")
    body["spec"]["template"]["spec"]["volumes"][0] = {"name": "rootdisk", "persistentVolumeClaim": {"claimName": claim}}
    return kube.create(body, namespace)
