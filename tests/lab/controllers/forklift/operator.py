"""forklift-operator (operator/roles/forkliftcontroller at v2.12.5): what a ForkliftController makes.

The operator runs where OLM installed `mtv-operator` (a Succeeded CSV) and reconciles the
ForkliftController of its namespace. Of what it deploys, the lab keeps what automation meets:
the `host` Provider of the operator namespace (`templates/controller/provider-host.yml.j2`,
"Setup default provider", created when the `kubevirt.io` API group exists), forklift-api's
Provider webhooks (webhooks.py) and the settings the controller is started with
(settings.py). The controller runs while both exist.
"""

from kubernetes.client.exceptions import ApiException

from lab.controllers.forklift import webhooks
from lab.controllers.forklift.kinds import CSV, FORKLIFT_CONTROLLER, HOST_PROVIDER, OPERATOR_CSV_PREFIX, PROVIDER
from lab.controllers.forklift.settings import Settings


def operator_csv(api, namespace: str):
    """The Succeeded mtv-operator CSV of `namespace`, if OLM installed one there."""
    for csv in api.list(*CSV, namespace=namespace):
        if csv["metadata"]["name"].startswith(OPERATOR_CSV_PREFIX) and \
                (csv.get("status") or {}).get("phase") == "Succeeded":
            return csv
    return None


def running_controller(api):
    """The ForkliftController of a namespace whose operator runs, or None: the controller runs then."""
    for controller in api.list(*FORKLIFT_CONTROLLER):
        if not controller["metadata"].get("deletionTimestamp") and \
                operator_csv(api, controller["metadata"]["namespace"]) is not None:
            return controller
    return None


def current_settings(api):
    """The running controller's Settings, or None when no Forklift controller runs."""
    controller = running_controller(api)
    return Settings.from_controller(controller) if controller is not None else None


def _kubevirt_served(api) -> bool:
    try:
        api.resource("kubevirt.io/v1", "VirtualMachine")
        return True
    except Exception:  # the group is not served: upstream skips the host provider
        return False


def host_provider(namespace: str) -> dict:
    return {"apiVersion": PROVIDER[0], "kind": PROVIDER[1],
            "metadata": {"name": HOST_PROVIDER, "namespace": namespace},
            "spec": {"type": "openshift", "secret": {}, "url": ""}}


def make_reconcile(webhook_server):
    def reconcile_forklift_controller(api, controller: dict):
        namespace = controller["metadata"]["namespace"]
        if controller["metadata"].get("deletionTimestamp"):
            return None
        if operator_csv(api, namespace) is None:
            return 10.0  # no operator runs here (not installed, or not yet Succeeded)
        webhooks.register(api, webhook_server)
        if _kubevirt_served(api) and api.get(*PROVIDER, HOST_PROVIDER, namespace) is None:
            try:
                api.create(host_provider(namespace))
            except ApiException as error:
                if error.status != 409:
                    raise
        return None
    return reconcile_forklift_controller
