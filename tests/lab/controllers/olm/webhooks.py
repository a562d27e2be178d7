"""The bundle's webhook definitions as admission webhook configurations (OLM's webhook install), and
their removal once their CSV is gone."""

from lab.controllers.objects import short_hash
from lab.controllers.olm.kinds import CSV, WEBHOOK_DESC_KEY
from lab.controllers.olm.operator_group import namespace_label_selector

_server = None  # the lab webhook server (set by use_server)


def use_server(server) -> None:
    global _server
    _server = server


def _webhook_configuration_name(csv: dict, desc: dict) -> str:
    meta = csv["metadata"]
    return f"{desc['generateName']}-{short_hash(meta['namespace'] + '/' + meta['name'], 8)}"


def install_webhooks(api, csv: dict, og: dict) -> None:
    if _server is None:
        return
    meta = csv["metadata"]
    selector = namespace_label_selector(og)
    for desc in csv["spec"].get("webhookdefinitions") or []:
        kind = {"ValidatingAdmissionWebhook": "Validating", "MutatingAdmissionWebhook": "Mutating"}.get(desc["type"])
        if kind is None:
            continue
        webhook = {
            "name": desc["generateName"],
            "clientConfig": {"url": _server.url(desc.get("webhookPath") or "/"), "caBundle": _server.ca_bundle},
            "rules": desc.get("rules") or [],
            "failurePolicy": desc.get("failurePolicy") or "Fail",
            "matchPolicy": desc.get("matchPolicy") or "Equivalent",
            "sideEffects": desc["sideEffects"],
            # The API server sends the first version it knows; the lab's webhook server answers v1.
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": min(int(desc.get("timeoutSeconds") or 10), 30),
        }
        if selector:
            webhook["namespaceSelector"] = selector
        if desc.get("objectSelector"):
            webhook["objectSelector"] = desc["objectSelector"]
        plural = "validatingwebhookconfigurations" if kind == "Validating" else "mutatingwebhookconfigurations"
        configuration = {
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": f"{kind}WebhookConfiguration",
            "metadata": {"name": _webhook_configuration_name(csv, desc),
                         "labels": {"olm.owner": meta["name"], "olm.owner.namespace": meta["namespace"],
                                    "olm.owner.kind": "ClusterServiceVersion",
                                    WEBHOOK_DESC_KEY: desc["generateName"]}},
            "webhooks": [webhook],
        }
        existing = api.get("admissionregistration.k8s.io/v1", f"{kind}WebhookConfiguration",
                           configuration["metadata"]["name"])
        if existing and existing.get("webhooks") and all(
                existing["webhooks"][0].get(k) == webhook.get(k)
                for k in ("clientConfig", "namespaceSelector", "admissionReviewVersions")):
            continue
        api.apply(plural, configuration)


# --- webhook configurations whose CSV is gone --------------------------------------------------

def gc_webhooks(kind: str):
    def reconcile(api, configuration: dict):
        labels = configuration["metadata"].get("labels") or {}
        if labels.get("olm.owner.kind") != "ClusterServiceVersion":
            return None
        if api.get(*CSV, labels.get("olm.owner"), labels.get("olm.owner.namespace")) is None:
            api.delete("admissionregistration.k8s.io/v1", kind, configuration["metadata"]["name"])
        return None
    return reconcile


def csv_webhook_keys(obj: dict) -> list:
    return [(None, _webhook_configuration_name(obj, desc))
            for desc in (obj.get("spec") or {}).get("webhookdefinitions") or []]
