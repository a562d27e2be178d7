"""The copy-offload volume populator (cmd/vsphere-copy-offload-populator with lib-volume-populator at
v2.12.5): a claim whose dataSourceRef names a VSphereXcopyVolumePopulator is filled by the storage
array itself (XCOPY from the source VMDK's LUN) into a scratch claim `prime-<claim uid>` on the same
class, whose volume is then handed to the claim. Progress is the populator's `status.progress`
(a percentage), at LAB_XCOPY_BANDWIDTH MiB/s (default 16× LAB_MIGRATION_BANDWIDTH): an array-side
copy is the fast path.
"""

import os
import time

from lab.controllers.forklift.kinds import GROUP_VERSION, PVC
from lab.controllers.objects import quantity
from lab.controllers.runtime import step_delay

XCOPY_POPULATOR = (GROUP_VERSION, "VSphereXcopyVolumePopulator")
WAIT = 1.0


def xcopy_bandwidth() -> float:
    default = float(os.environ.get("LAB_MIGRATION_BANDWIDTH", "4096")) * 16
    return float(os.environ.get("LAB_XCOPY_BANDWIDTH", default)) * 2**20


def _claim(api, populator: dict):
    namespace = populator["metadata"]["namespace"]
    for ref in populator["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "PersistentVolumeClaim":
            return api.get(*PVC, ref["name"], namespace)
    return None


def reconcile(api, populator: dict):
    claim = _claim(api, populator)
    if claim is None or (claim.get("status") or {}).get("phase") == "Bound":
        return None
    namespace, uid = claim["metadata"]["namespace"], claim["metadata"]["uid"]
    prime = api.get(*PVC, f"prime-{uid}", namespace)
    if prime is None:
        spec = {k: v for k, v in claim["spec"].items() if k not in ("dataSource", "dataSourceRef", "volumeName")}
        api.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": f"prime-{uid}", "namespace": namespace,
                                 "ownerReferences": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                                      "name": claim["metadata"]["name"], "uid": uid,
                                                      "controller": True, "blockOwnerDeletion": True}]},
                    "spec": spec})
        return WAIT
    if (prime.get("status") or {}).get("phase") != "Bound":
        return WAIT
    progress = int((populator.get("status") or {}).get("progress") or 0)
    if progress < 100:
        time.sleep(step_delay())
        size = quantity(claim["spec"]["resources"]["requests"]["storage"])
        progress = min(100, progress + max(1, int(100 * xcopy_bandwidth() * step_delay() / size)))
        api.patch_status(populator, {"progress": str(progress), "xcopyUsed": "true"})
        return 0.0
    _hand_over(api, claim, prime)
    return WAIT


def _hand_over(api, claim: dict, prime: dict) -> None:
    """Rebind the scratch claim's volume to the claim, then drop the scratch claim."""
    pv = api.get("v1", "PersistentVolume", prime["spec"]["volumeName"])
    meta = claim["metadata"]
    if pv and (pv["spec"].get("claimRef") or {}).get("uid") != meta["uid"]:
        api.patch(pv, {"spec": {"persistentVolumeReclaimPolicy": pv["spec"].get("persistentVolumeReclaimPolicy"),
                                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                             "name": meta["name"], "namespace": meta["namespace"],
                                             "uid": meta["uid"], "resourceVersion": meta["resourceVersion"]}}})
    api.delete(*PVC, prime["metadata"]["name"], prime["metadata"]["namespace"])
