"""The kinds OLM works with, and small helpers its controllers share."""

OPERATORS_V1 = "operators.coreos.com/v1"
OPERATORS_V1A1 = "operators.coreos.com/v1alpha1"
CSV = (OPERATORS_V1A1, "ClusterServiceVersion")
SUBSCRIPTION = (OPERATORS_V1A1, "Subscription")
INSTALL_PLAN = (OPERATORS_V1A1, "InstallPlan")
OPERATOR_GROUP = (OPERATORS_V1, "OperatorGroup")
CATALOG_SOURCE = (OPERATORS_V1A1, "CatalogSource")

OG_LABEL_PREFIX = "olm.operatorgroup.uid/"
OWNER_LABELS = ("olm.owner", "olm.owner.namespace", "olm.owner.kind")
WEBHOOK_DESC_KEY = "olm.webhook-description-generate-name"


def ref(obj: dict) -> dict:
    meta = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
            "namespace": meta["namespace"], "resourceVersion": meta["resourceVersion"], "uid": meta["uid"]}


def package_label(package: str, namespace: str) -> str:
    return f"operators.coreos.com/{package}.{namespace}"
