# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A Trident backend (TridentBackendConfig) and its credentials Secret: written, judged by Trident, removed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, secrets, trident, wait
from ansible_collections.ontap.virtualization.plugins.module_utils import trident_preflight as preflight
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

TBC_MANAGED = ["spec." + key for key in sorted(trident.BACKEND_KEYS)]
# After an update, how long to wait for Trident to report on the new config before
# judging the status that is there (Trident does not publish an observedGeneration).
UPDATE_SETTLE_SECONDS = 10


def _status(obj):
    return (obj or {}).get("status") or {}


def backend_facts(params, obj, secret_name):
    status = _status(obj)
    info = status.get("backendInfo") or {}
    facts = {"name": params["name"], "credentials_secret": secret_name, "phase": status.get("phase", ""),
             "last_operation_status": status.get("lastOperationStatus", ""), "message": status.get("message", ""),
             "resource": obj}
    if info.get("backendUUID"):
        facts.update(backend_name=info.get("backendName"), backend_uuid=info.get("backendUUID"))
    return facts


def wait_for_backend(module, ref, before_status):
    """Wait until Trident has judged the config we wrote: Bound and Success, or fail with its message."""
    bound = wait.all_of(wait.field_equals("status.phase", "Bound"),
                        wait.field_equals("status.lastOperationStatus", "Success"))
    failed = wait.field_equals("status.lastOperationStatus", "Failed")
    if before_status:
        fresh = wait.Predicate("Trident reports on the new configuration", lambda obj: _status(obj) != before_status)
        try:
            module.waiter().until(ref, fresh, min(module.params["wait_timeout"], UPDATE_SETTLE_SECONDS))
        except wait.WaitTimedOut:
            pass  # Trident kept the same status: judge that one
    try:
        return module.wait_until(ref, bound, fail_when=failed)
    except wait.WaitFailed as exc:
        status = _status(exc.last)
        if status.get("lastOperationStatus") == "Failed":
            raise ModuleError("Trident could not {0} backend {1}: {2}".format(
                "update" if before_status else "create", module.params["name"], status.get("message")),
                phase=status.get("phase", ""), last_status=status)
        raise


def secret_name_of(params, live=None):
    return params["credentials_secret"] or fields.get(live or {}, "spec.credentials.name") \
        or "{0}-credentials".format(params["name"])


def present(module, backend, secret_name):
    """Write ``backend`` (and its credentials Secret, from the options), after the checks Trident would fail on."""
    params, kube = module.params, module.kube
    tbc_ref = kube.ref(trident.TBC_API_VERSION, "TridentBackendConfig", params["name"], params["namespace"])
    live = kube.get(tbc_ref)
    if live:
        changes = fields.immutable_changes(live, backend, trident.IMMUTABLE_BACKEND_PATHS)
        if changes:
            paths, values = fields.render_changes(changes)
            raise ModuleError("Trident cannot change {0} of an existing backend ({1}). Delete backend {2} and "
                              "create it again, or give the new configuration another name.".format(
                                  paths, values, params["name"]))
    preflight.refuse_namespace_trident_ignores(module)
    credentials = {"username": params["username"], "password": params["password"]}
    if not params["username"]:
        credentials = secrets.values(secrets.require(module, params["namespace"], secret_name, ["username", "password"],
                                                     "give username and password to this module"))
    if params["check_ontap"]:
        preflight.check_ontap(module, credentials)
    if params["username"]:
        secrets.ensure(module, params["namespace"], secret_name, credentials)
    obj = module.ensurer.present(backend, TBC_MANAGED).object
    if module.ensurer.changes.changed and params["wait"] and not module.check_mode:
        obj = wait_for_backend(module, tbc_ref, _status(live) if live else None)
    return module.result(**backend_facts(params, obj, secret_name))


def absent(module):
    """Delete the backend unless volumes still use it, then its credentials Secret unless another backend uses it."""
    params, kube = module.params, module.kube
    tbc_ref = kube.ref(trident.TBC_API_VERSION, "TridentBackendConfig", params["name"], params["namespace"])
    live = kube.get(tbc_ref)
    secret_name = secret_name_of(params, live)
    if live is not None:
        preflight.refuse_while_volumes(module, live)
        wanted_policy = params["deletion_policy"]
        if wanted_policy and fields.get(live, "spec.deletionPolicy", "delete").lower() != wanted_policy:
            module.ensurer.present({"apiVersion": trident.TBC_API_VERSION, "kind": "TridentBackendConfig",
                                    "metadata": {"name": params["name"], "namespace": params["namespace"]},
                                    "spec": {"deletionPolicy": wanted_policy}}, ["spec.deletionPolicy"])
        module.ensurer.absent(tbc_ref, TBC_MANAGED)
        if params["wait"] and not module.check_mode:
            module.wait_until(tbc_ref, wait.absent())
    others, _version = kube.list(tbc_ref._replace(name=None))
    still_used = any(fields.get(other, "spec.credentials.name") == secret_name
                     and other["metadata"]["name"] != params["name"] for other in others)
    secrets.release(module, params["namespace"], secret_name, still_used)
    return module.result(name=params["name"], credentials_secret=secret_name)
