"""Volume snapshots on the lab's storage: the CSI snapshot-controller (``controller``) and the
csi-snapshotter sidecar deployed with Trident (``snapshotter``)."""

from lab.controllers.snapshot import controller, snapshotter


def setup(manager, webhooks) -> None:
    controller.setup(manager, webhooks)
    snapshotter.setup(manager, webhooks)
