"""The CSI sidecars deployed with Trident's controller: the external-provisioner
(``provisioner``: provisioning and deletion) and the external-resizer (``resizer``, with the
kubelet's part of an expansion). Both call Trident's CSI controller (``trident.core``)."""

from lab.controllers.csi import provisioner, resizer


def setup(manager, webhooks) -> None:
    provisioner.setup(manager, webhooks)
    resizer.setup(manager, webhooks)
