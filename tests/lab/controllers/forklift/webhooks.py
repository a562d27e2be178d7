"""forklift-api's Provider webhooks, which the operator registers once it runs
(operator/roles/forkliftcontroller/templates/api/{mutating,validating}webhookconfiguration-providers.yml.j2;
pkg/forklift-api/webhooks/mutating-webhook/mutators/provider-mutator.go and
validating-webhook/admitters/provider-admitter.go at v2.12.5).

- Mutating, on CREATE and UPDATE: a vSphere Provider without `settings.sdkEndpoint` gets
  `sdkEndpoint: vcenter` (the whole spec replaced, as upstream patches it).
- Validating, on CREATE and UPDATE: a vSphere `sdkEndpoint` other than vcenter / esxi is refused
  with 400 "vSphere provider is set with an invalid SDK endpoint type".
The finalizers the mutator adds to OVA and Hyper-V providers are not simulated (nor are those types).
"""

import copy

from lab.webhooks import allow, deny, mutate

MUTATE_PATH = "/forklift/provider-mutate"
VALIDATE_PATH = "/forklift/provider-validate"
CONFIGURATION = "forklift-api-providers"  # {{ api_deployment_name }}-providers
ADMISSION = "admissionregistration.k8s.io/v1"
_RULES = [{"apiGroups": ["forklift.konveyor.io"], "apiVersions": ["v1beta1"], "resources": ["providers"],
           "operations": ["CREATE", "UPDATE"]}]


def mutate_provider(request: dict) -> dict:
    spec = request["object"].get("spec") or {}
    if spec.get("type") != "vsphere" or "sdkEndpoint" in (spec.get("settings") or {}):
        return allow()
    wanted = copy.deepcopy(spec)
    wanted.setdefault("settings", {})["sdkEndpoint"] = "vcenter"
    return mutate([{"op": "replace", "path": "/spec", "value": wanted}])


def admit_provider(request: dict) -> dict:
    spec = request["object"].get("spec") or {}
    endpoint = (spec.get("settings") or {}).get("sdkEndpoint")
    if spec.get("type") == "vsphere" and endpoint is not None and endpoint not in ("vcenter", "esxi"):
        return deny("vSphere provider is set with an invalid SDK endpoint type", code=400)
    return allow()


def _configurations(server) -> list:
    def webhook(name, path):
        return {"name": name, "clientConfig": {"url": server.url(path), "caBundle": server.ca_bundle},
                "rules": _RULES, "failurePolicy": "Fail", "matchPolicy": "Equivalent", "sideEffects": "None",
                "admissionReviewVersions": ["v1"], "timeoutSeconds": 30}
    # Upstream names the mutating webhook plans.forklift.konveyor (sic).
    return [{"apiVersion": ADMISSION, "kind": "MutatingWebhookConfiguration", "metadata": {"name": CONFIGURATION},
             "webhooks": [webhook("plans.forklift.konveyor", MUTATE_PATH)]},
            {"apiVersion": ADMISSION, "kind": "ValidatingWebhookConfiguration", "metadata": {"name": CONFIGURATION},
             "webhooks": [webhook("providers.forklift.konveyor", VALIDATE_PATH)]}]


def register(api, server) -> None:
    """Create the configurations, or point them at this process's server (its port changes on restart)."""
    for configuration in _configurations(server):
        existing = api.get(ADMISSION, configuration["kind"], CONFIGURATION)
        if existing is None:
            api.ensure(configuration)
        elif [w["clientConfig"].get("url") for w in existing.get("webhooks") or []] != \
                [w["clientConfig"]["url"] for w in configuration["webhooks"]]:
            api.patch(existing, {"webhooks": configuration["webhooks"]})
