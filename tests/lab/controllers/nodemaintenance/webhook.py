"""The operator's validating webhook (api/v1beta1/nodemaintenance_webhook.go, v0.20.1).

CREATE: the node must exist, and no NodeMaintenance may exist for it already (the etcd-quorum
guard for control-plane nodes applies on OpenShift only with its etcd PodDisruptionBudget, which
the lab does not have). UPDATE: spec.nodeName cannot change. OLM registers the webhook from the
CSV's webhookdefinitions (lab/catalog.py) only once the operator is installed.
"""

from lab.controllers.nodemaintenance.kinds import NM, WEBHOOK_PATH
from lab.webhooks import allow, deny

ERROR_NODE_NOT_EXISTS = "invalid nodeName, no node with name %s found"
ERROR_NODE_MAINTENANCE_EXISTS = "invalid nodeName, a NodeMaintenance for node %s already exists"
ERROR_NODE_NAME_UPDATE_FORBIDDEN = "updating spec.NodeName isn't allowed"


def validate(api, request: dict) -> dict:
    node_name = ((request.get("object") or {}).get("spec") or {}).get("nodeName")
    if request["operation"] == "UPDATE":
        old_name = ((request.get("oldObject") or {}).get("spec") or {}).get("nodeName")
        return deny(ERROR_NODE_NAME_UPDATE_FORBIDDEN) if node_name != old_name else allow()
    if request["operation"] != "CREATE":
        return allow()
    if api.get("v1", "Node", node_name) is None:
        return deny(ERROR_NODE_NOT_EXISTS % node_name)
    if any((nm.get("spec") or {}).get("nodeName") == node_name for nm in api.list(*NM)):
        return deny(ERROR_NODE_MAINTENANCE_EXISTS % node_name)
    return allow()


def setup(manager, webhooks) -> None:
    api = manager.api
    webhooks.route(WEBHOOK_PATH, lambda request: validate(api, request))
