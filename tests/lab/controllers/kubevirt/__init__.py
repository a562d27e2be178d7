"""Simulated KubeVirt (v1.8): virt-operator, virt-api's admission, virt-controller and the node side.

``operator``: the KubeVirt CR, webhook registration, virt-handler placement and the launcher
pods' "kubelet"; ``webhooks``, ``vm_admission``, ``day2_admission``: virt-api's admission;
``vm``, ``vmi``, ``network``: VirtualMachines and their instances; ``migration``: live
migration; ``snapshot``, ``clone``: snapshots, restores and clones; ``apiservices``,
``subresources``: virt-api's aggregated API (start, stop, restart, migrate).
"""

from lab.controllers.kubevirt import (apiservices, clone, day2_admission, migration, operator, snapshot, vm,
                                      vm_admission, vmi, webhooks)


def setup(manager, webhook_server) -> None:
    for part in (operator, apiservices, clone, day2_admission, migration, snapshot, vm, vm_admission, vmi, webhooks):
        part.setup(manager, webhook_server)
