"""The Node Maintenance Operator (medik8s/node-maintenance-operator v0.20.1), installed through OLM.

``controller``: a NodeMaintenance cordons and taints its node, drains it through the eviction API
(retried every 5 seconds while an eviction is refused, as KubeVirt refuses a VM it migrates first),
and reports Running -> Succeeded with the pods still pending; deleting it takes the node back.
``webhook``: the operator's validating webhook (node exists, one NodeMaintenance per node,
spec.nodeName immutable). Nothing acts while no node-maintenance-operator CSV has Succeeded.
"""

from lab.controllers.nodemaintenance import controller, webhook


def setup(manager, webhooks) -> None:
    controller.setup(manager, webhooks)
    webhook.setup(manager, webhooks)
