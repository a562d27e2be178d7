# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every MTV (Forklift) module shares: the API, the operator's namespace, conditions and their blockers.

Facts from kubev2v/forklift v2.12.5: every kind is forklift.konveyor.io/v1beta1 and namespaced; a condition
of category Critical or Error is a blocker (``pkg/lib/condition/condition.go`` ``HasBlockerCondition``).
(Live migration inside the cluster is module_utils/migration.py; nothing here is about it.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import fields
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

FORKLIFT_API = "forklift.konveyor.io/v1beta1"
DEFAULT_NAMESPACE = "openshift-mtv"
HOST_PROVIDER = "host"
BLOCKER_CATEGORIES = ("Critical", "Error")


def ref(kube, kind, name, namespace):
    return kube.ref(FORKLIFT_API, kind, name, namespace)


def require_installed(module, what):
    """Refuse before any write when MTV does not run: its controller makes the ``host`` provider first thing, and
    without a controller ``what`` would only wait for nobody. In check mode an earlier task may be installing it."""
    kube = module.kube
    if module.check_mode:
        return
    if kube.served(FORKLIFT_API, "Provider"):
        hosts, _version = kube.list(kube.ref(FORKLIFT_API, "Provider", None, None),
                                    field_selector="metadata.name=" + HOST_PROVIDER)
        if hosts:
            return
    raise ModuleError("MTV is not installed (no '{0}' provider, which its controller creates), so nothing would act on "
                      "the {1}: install it first with ontap.virtualization.mtv_operator, or the role migration with "
                      "migration_install_mtv: true. Nothing was written.".format(HOST_PROVIDER, what))


def conditions(obj):
    return fields.get(obj or {}, "status.conditions") or []


def condition_true(obj, condition_type):
    return any(c.get("type") == condition_type and str(c.get("status")) == "True" for c in conditions(obj))


def blockers(obj):
    """The conditions that block (Critical or Error), in the controller's order."""
    return [c for c in conditions(obj) if c.get("category") in BLOCKER_CATEGORIES and str(c.get("status")) == "True"]


def describe_condition(condition):
    """``Type (reason): message`` with the items it names, for an error message."""
    text = condition.get("type") or "?"
    if condition.get("reason"):
        text += " ({0})".format(condition["reason"])
    if condition.get("message"):
        text += ": " + condition["message"].rstrip(".")
    items = [item.strip() for item in condition.get("items") or []]
    if items:
        text += " [" + ", ".join(items) + "]"
    return text
