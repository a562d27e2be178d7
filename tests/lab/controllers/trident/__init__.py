"""Simulated Trident (v26.06) on the lab's ONTAP.

``backends``: the TridentBackendConfig controller and the volume reaper; ``config``: what
Trident accepts in a backend config and a StorageClass; ``core``: the orchestrator and its CSI
controller calls; ``driver``: the ontap-nas / ontap-san drivers; ``ontap_client``: their REST
client. The CSI sidecars that call it are in ``lab.controllers.csi`` and
``lab.controllers.snapshot``.
"""

from lab.controllers.trident import backends


def setup(manager, webhooks) -> None:
    backends.setup(manager, webhooks)
