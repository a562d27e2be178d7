"""The CDI side HCO relies on: cdi-operator reporting the CDI CR Deployed, and cdi-apiserver's
validation of the CDI CR's deletion (its `cdi-api-validate` webhook configuration, registered
while the CDI CR is Deployed and removed with it)."""

from lab.controllers.conditions import set_condition
from lab.controllers.hco.operands import CDI
from lab.controllers.runtime import now
from lab.webhooks import allow


# --- cdi-operator: the CDI CR reports Deployed ----------------------------------------------------

def reconcile_cdi(api, cdi: dict):
    if cdi["metadata"].get("deletionTimestamp"):
        return None
    if (cdi.get("status") or {}).get("phase"):
        if cdi["status"]["phase"] == "Deployed":
            _register_cdi_webhook(api)  # again after a restart: the webhook server's port changed
        return None
    conditions = []
    for type_, state in (("Available", "True"), ("Progressing", "False"), ("Degraded", "False")):
        conditions = set_condition(conditions, type_, state, "", "", lastHeartbeatTime=now())
    _register_cdi_webhook(api)
    api.patch_status(cdi, {"phase": "Deployed", "operatorVersion": CDI_VERSION,
                           "targetVersion": CDI_VERSION, "observedVersion": CDI_VERSION,
                           "conditions": conditions}, guarded=True)
    return None


# --- cdi-apiserver: the CDI CR's delete validation (pkg/apiserver/webhooks/cdi-validate.go) ---------

CDI_VERSION = "v1.65.0"
CDI_WEBHOOK_CONFIGURATION = "cdi-api-validate"
CDI_WEBHOOK = "cdi-validate.cdi.kubevirt.io"
CDI_WEBHOOK_PATH = "/cdi-validate"
DV = ("cdi.kubevirt.io/v1beta1", "DataVolume")
DATA_IMPORT_CRON_LABEL = "cdi.kubevirt.io/dataImportCron"
CDI_UNINSTALL = ("rejecting the uninstall request, since there are still {} DataVolumes present. Either delete all "
                 "DataVolumes or change the uninstall strategy before uninstalling CDI")

_server = None  # the lab webhook server (set by setup_webhook)


def setup_webhook(api, webhooks) -> None:
    global _server
    _server = webhooks
    webhooks.route(CDI_WEBHOOK_PATH, lambda request: validate_cdi_delete(api, request))


def validate_cdi_delete(api, request: dict) -> dict:
    if request.get("operation") != "DELETE":
        return allow()
    cdi = request.get("oldObject") or api.get(*CDI, request.get("name"))
    if cdi is None:
        return {"allowed": False, "status": {"code": 400, "message": "cannot derive deleted resource"}}
    if (cdi.get("status") or {}).get("phase") in (None, "", "Error"):
        return allow()
    if (cdi.get("spec") or {}).get("uninstallStrategy") == "BlockUninstallIfWorkloadsExist":
        # DataVolumes(NamespaceAll).List(Limit: 2, LabelSelector: "!cdi.kubevirt.io/dataImportCron")
        found = api.resource(*DV).get(label_selector="!" + DATA_IMPORT_CRON_LABEL, limit=2).to_dict()
        count = len(found.get("items") or [])
        if count:
            return {"allowed": False, "status": {"code": 400, "message": CDI_UNINSTALL.format(count)}}
    return allow()


def _cdi_webhook_configuration() -> dict:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": CDI_WEBHOOK_CONFIGURATION, "labels": {"cdi.kubevirt.io": "cdi-api"}},
            "webhooks": [{"name": CDI_WEBHOOK,
                          "rules": [{"operations": ["DELETE"], "apiGroups": ["cdi.kubevirt.io"],
                                     "apiVersions": ["v1beta1"], "resources": ["cdis"], "scope": "*"}],
                          "clientConfig": {"url": _server.url(CDI_WEBHOOK_PATH), "caBundle": _server.ca_bundle},
                          "sideEffects": "None", "failurePolicy": "Ignore", "matchPolicy": "Exact",
                          "namespaceSelector": {}, "objectSelector": {}, "timeoutSeconds": 30,
                          "admissionReviewVersions": ["v1", "v1beta1"]}]}


def _register_cdi_webhook(api) -> None:
    wanted = _cdi_webhook_configuration()
    existing = api.get("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", CDI_WEBHOOK_CONFIGURATION)
    if existing and [w["clientConfig"].get("url") for w in existing.get("webhooks") or []] == \
            [wanted["webhooks"][0]["clientConfig"]["url"]]:
        return
    api.apply("validatingwebhookconfigurations", wanted)


def cdi_gone(api, key) -> None:
    """The CDI CR is gone: cdi-operator removed cdi-apiserver and its webhook configurations."""
    api.delete("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", CDI_WEBHOOK_CONFIGURATION)
