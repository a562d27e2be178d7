# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""MTV through OLM, its ForkliftController, and the wait for the ``host`` Provider the operator creates.

The ForkliftController's spec is the operator's flat snake_case settings (operator/roles/forkliftcontroller
``defaults/main.yml`` at v2.12.5); its feature flags are the strings "true"/"false" (the CRD refuses
booleans), numbers are int-or-string. The operator creates the ``host`` Provider (type openshift, empty url)
in its namespace (``templates/controller/provider-host.yml.j2``); it becomes Ready once the controller runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import mtv_common, olm, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

CONTROLLER_KIND = "ForkliftController"
# option -> ForkliftController spec key (numbers)
NUMBERS = {"max_vms_in_flight": "controller_max_vm_inflight", "precopy_interval": "controller_precopy_interval",
           "snapshot_removal_timeout": "controller_snapshot_removal_timeout_minuts"}
# features.<option> -> ForkliftController spec key (strings "true"/"false")
FEATURES = {"copy_offload": "feature_copy_offload", "ui_plugin": "feature_ui_plugin",
            "validation": "feature_validation", "volume_populator": "feature_volume_populator",
            "ocp_live_migration": "feature_ocp_live_migration", "auth_required": "feature_auth_required"}


def controller_spec(params):
    """The ForkliftController spec the options ask for, and the paths it manages; bad input before any write."""
    spec = {}
    for option, key in NUMBERS.items():
        value = params.get(option)
        if value is not None:
            if value < 1:
                raise ModuleError("{0} must be at least 1, not {1}".format(option, value))
            spec[key] = value
    for option, key in FEATURES.items():
        value = (params.get("features") or {}).get(option)
        if value is not None:
            spec[key] = "true" if value else "false"
    if params.get("vddk_image"):
        spec["vddk_image"] = params["vddk_image"]
    repeated = sorted(key for key in params.get("spec") or {} if key in spec)
    if repeated:
        raise ModuleError("spec repeats {0}, which {1} an option of its own; set {2} through the option".format(
            ", ".join(repeated), "has" if len(repeated) == 1 else "have", "it" if len(repeated) == 1 else "them"))
    booleans = sorted(key for key, value in (params.get("spec") or {}).items() if isinstance(value, bool))
    if booleans:
        raise ModuleError("spec sets {0} to a boolean; ForkliftController settings are strings (\"true\" or "
                          "\"false\") and the API server refuses booleans. Quote the value.".format(
                              ", ".join(booleans)))
    spec.update(params.get("spec") or {})
    return spec, ["spec." + key for key in spec]


def operator(params):
    return olm.Operator(
        namespace=params["namespace"], package=params["package"], channel=params["channel"],
        source=params["source"], source_namespace=params["source_namespace"],
        subscription=params["subscription_name"], approval=params["approval"], starting_csv=params["starting_csv"],
        operator_group="migration", namespace_labels={})


def install(module):
    """Subscription, ForkliftController, then the host Provider Ready; returns the result values."""
    params = module.params
    spec, managed = controller_spec(params)
    csv = olm.install(module, operator(params))
    desired = {"apiVersion": mtv_common.FORKLIFT_API, "kind": CONTROLLER_KIND,
               "metadata": {"name": params["controller_name"], "namespace": params["namespace"]}, "spec": spec}
    if module.check_mode and not module.kube.served(mtv_common.FORKLIFT_API, CONTROLLER_KIND):
        controller = module.ensurer.preview_create(desired, managed).object  # the operator brings this API
    else:
        controller = module.ensurer.present(desired, managed).object
    host = None
    if params["wait"] and not module.check_mode:
        host = module.wait_until(mtv_common.ref(module.kube, "Provider", mtv_common.HOST_PROVIDER, params["namespace"]),
                                 wait.condition("Ready"))
    values = {"forklift_controller": controller,
              "host_provider": None if host is None else {"name": host["metadata"]["name"],
                                                          "namespace": host["metadata"]["namespace"],
                                                          "conditions": mtv_common.conditions(host)}}
    if csv is not None:
        values.update(installed_csv=csv["metadata"]["name"], installed_version=(csv.get("spec") or {}).get("version"))
    return values


def uninstall(module):
    """The ForkliftController first (the operator removes what it deployed), then the Subscription and CSV."""
    params = module.params
    if module.kube.served(mtv_common.FORKLIFT_API, CONTROLLER_KIND):
        controller_ref = mtv_common.ref(module.kube, CONTROLLER_KIND, params["controller_name"], params["namespace"])
        if module.ensurer.absent(controller_ref).changed and params["wait"] and not module.check_mode:
            module.wait_until(controller_ref, wait.absent())
    olm.uninstall(module, operator(params))
