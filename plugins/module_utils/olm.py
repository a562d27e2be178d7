# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Install an operator the way OperatorHub does: Namespace, OperatorGroup, Subscription, InstallPlan, CSV.

OLM's failure states, as OLM v0.45 has them (operator-framework/operator-lifecycle-manager):
- a namespace with no OperatorGroup or with several is never resolved, and OLM says
  nothing on the Subscription (``syncResolvingNamespace`` stops at
  ``IsFailForwardEnabled``), so the count is checked before any wait;
- ``ResolutionFailed`` on the Subscription is final until its spec changes;
- a CSV in ``Failed`` is not final: OLM moves it back to ``Pending`` (``NeedsReinstall``)
  and retries (``transitionCSVState``), so only a Failed phase that lasts is a failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import time
from collections import namedtuple

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, describe

OLM_V1 = "operators.coreos.com/v1"
OLM_V1ALPHA1 = "operators.coreos.com/v1alpha1"
CSV_FAILED_GRACE_SECONDS = 120
# OLM publishes no observedGeneration on Subscriptions: how long a changed spec is given to be refused.
SUBSCRIPTION_SETTLE_SECONDS = 10
CSV_RECHECK_SECONDS = 10
# How often an uninstall deletes what OLM keeps making again before it gives up.
UNINSTALL_PASSES = 5
SUBSCRIPTION_FIELDS = {"package": "name", "channel": "channel", "source": "source",
                       "source_namespace": "sourceNamespace", "approval": "installPlanApproval",
                       "starting_csv": "startingCSV"}

Operator = namedtuple("Operator", "namespace package channel source source_namespace subscription approval "
                                  "starting_csv operator_group namespace_labels")


def install(module, operator):
    """Install ``operator`` (an Operator) and return its Succeeded CSV; in check mode, write nothing and return None."""
    if operator.approval == "Manual" and not operator.starting_csv:
        raise ModuleError("approval=Manual needs starting_csv: only the InstallPlan of that version is approved")
    refuse_second_install(module, operator)
    ensure_namespace(module, operator)
    ensure_operator_group(module, operator)
    before = module.kube.get(_ref(module.kube, operator, "Subscription", operator.subscription))
    if ensure_subscription(module, operator).action == "update" and not module.check_mode:
        refuse_unresolvable_change(module, operator, before)
    if module.check_mode:
        return None
    subscription = wait_for_install_plan(module, operator)
    if operator.approval == "Manual":
        approve(module, operator, subscription)
    return wait_for_csv(module, operator)


def uninstall(module, operator):
    """Delete the Subscription, then the InstallPlans and CSVs of its package, until none is left.

    A resolution that read the Subscription just before it went can still create an InstallPlan, and the plan its
    CSV, after the CSV was deleted: the plan is garbage-collected with its Subscription, but not always before it
    runs. So once the CSVs are gone, the package's objects are looked for again.
    """
    kube = module.kube
    subscription_ref = _ref(kube, operator, "Subscription", operator.subscription)
    subscription = kube.get(subscription_ref) or {}
    module.ensurer.absent(subscription_ref)
    for _pass in range(UNINSTALL_PASSES):
        leftovers = _installed_by(kube, operator, subscription)
        if not leftovers:
            return
        for ref in leftovers:
            module.ensurer.absent(ref)
        if module.check_mode or not module.params["wait"]:
            return
        for ref in leftovers:
            if ref.kind == "ClusterServiceVersion":
                module.wait_until(ref, wait.absent())
    raise ModuleError("OLM installed {0} again in namespace {1} each time it was removed ({2} times): another "
                      "Subscription or a Subscription being created asks for it. Remove that Subscription, then "
                      "run again.".format(operator.package, operator.namespace, UNINSTALL_PASSES))


def _installed_by(kube, operator, subscription):
    """The package's CSVs (OLM's label for the package, or named by the Subscription) and the InstallPlans of the
    Subscription alone (a plan OLM resolved for several Subscriptions of the namespace is theirs too: kept)."""
    label = "operators.coreos.com/{0}.{1}".format(operator.package, operator.namespace)
    named = set(filter(None, (fields.get(subscription, "status.installedCSV"),
                              fields.get(subscription, "status.currentCSV"))))
    csvs, _version = kube.list(_ref(kube, operator, "ClusterServiceVersion", None))
    found = [_ref(kube, operator, "ClusterServiceVersion", c["metadata"]["name"]) for c in csvs
             if label in (c["metadata"].get("labels") or {}) or c["metadata"]["name"] in named]
    uid = fields.get(subscription, "metadata.uid")
    if uid:
        plans, _version = kube.list(_ref(kube, operator, "InstallPlan", None))
        found += [_ref(kube, operator, "InstallPlan", p["metadata"]["name"]) for p in plans
                  if _owned_by_only(p, uid)]
    return found


def _owned_by_only(obj, uid):
    subscriptions = [owner.get("uid") for owner in fields.get(obj, "metadata.ownerReferences") or []
                     if owner.get("kind") == "Subscription"]
    return subscriptions == [uid]


def _ref(kube, operator, kind, name):
    return kube.ref(OLM_V1 if kind == "OperatorGroup" else OLM_V1ALPHA1, kind, name, operator.namespace)


def ensure_namespace(module, operator):
    labels = operator.namespace_labels or {}
    module.ensurer.present({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": operator.namespace, "labels": labels}},
                           [("metadata", "labels", key) for key in labels])


def ensure_operator_group(module, operator):
    """Reuse the namespace's one OperatorGroup, create one when there is none, refuse when there are several."""
    groups, _version = module.kube.list(_ref(module.kube, operator, "OperatorGroup", None))
    if len(groups) > 1:
        raise ModuleError("Namespace {0} has {1} OperatorGroups ({2}); OLM installs nothing in a namespace with more "
                          "than one, and says so nowhere. Delete all but one.".format(
                              operator.namespace, len(groups), ", ".join(sorted(g["metadata"]["name"] for g in groups))))
    if groups:
        return
    module.ensurer.present({"apiVersion": OLM_V1, "kind": "OperatorGroup", "metadata": {
        "name": operator.operator_group, "namespace": operator.namespace},
        "spec": {"targetNamespaces": [operator.namespace]}}, ["spec.targetNamespaces"])


def refuse_second_install(module, operator):
    """An operator subscribed in another namespace is found, not installed twice (two operators would own one API)."""
    subscriptions, _version = module.kube.list(module.kube.ref(OLM_V1ALPHA1, "Subscription"))
    elsewhere = sorted("{0}/{1}".format(s["metadata"]["namespace"], s["metadata"]["name"]) for s in subscriptions
                       if fields.get(s, "spec.name") == operator.package and fields.get(s, "status.installedCSV")
                       and s["metadata"]["namespace"] != operator.namespace)
    if elsewhere:
        raise ModuleError("{0} is already installed through Subscription {1}; a second install in namespace {2} would "
                          "run two operators for one API. Give namespace {3}, or uninstall that one first.".format(
                              operator.package, ", ".join(elsewhere), operator.namespace,
                              elsewhere[0].split("/")[0]))


def ensure_subscription(module, operator):
    spec = dict((key, getattr(operator, option)) for option, key in SUBSCRIPTION_FIELDS.items()
                if getattr(operator, option))
    return module.ensurer.present({"apiVersion": OLM_V1ALPHA1, "kind": "Subscription", "metadata": {
        "name": operator.subscription, "namespace": operator.namespace}, "spec": spec},
        ["spec." + key for key in SUBSCRIPTION_FIELDS.values()])


def refuse_unresolvable_change(module, operator, before):
    """After a change of a Subscription's spec, give OLM a moment to refuse it, and put the old spec back if it does.

    The Subscription keeps the InstallPlan of its old spec, so the wait that follows
    would be satisfied by it and a mistyped channel would be reported as a change.
    """
    ref = _ref(module.kube, operator, "Subscription", operator.subscription)
    try:
        refused = module.waiter().until(ref, wait.condition("ResolutionFailed"), SUBSCRIPTION_SETTLE_SECONDS)
    except wait.WaitTimedOut:
        return
    message = (wait.find_condition(refused, "ResolutionFailed") or {}).get("message")
    restore = {"apiVersion": OLM_V1ALPHA1, "kind": "Subscription",
               "metadata": {"name": operator.subscription, "namespace": operator.namespace},
               "spec": dict((key, fields.get(before, "spec." + key)) for key in SUBSCRIPTION_FIELDS.values())}
    module.ensurer.present(restore, ["spec." + key for key in SUBSCRIPTION_FIELDS.values()])
    raise ModuleError("OLM cannot resolve the changed Subscription {0}/{1} (channel {2} of {3}): {4}. Its previous "
                      "spec was put back.".format(operator.namespace, operator.subscription, operator.channel,
                                                  operator.source, message))


def wait_for_install_plan(module, operator):
    """The Subscription once OLM has planned it; ResolutionFailed fails at once with OLM's message."""
    ref = _ref(module.kube, operator, "Subscription", operator.subscription)
    planned = wait.Predicate("the Subscription has an InstallPlan",
                             lambda obj: bool(fields.get(obj or {}, "status.installPlanRef.name")))
    try:
        return module.wait_until(ref, planned, fail_when=wait.condition("ResolutionFailed"))
    except wait.WaitFailed as exc:
        failed = wait.find_condition(exc.last, "ResolutionFailed")
        if failed and failed.get("status") == "True":
            raise ModuleError("OLM cannot install {0} from channel {1} of {2}: {3}".format(
                operator.starting_csv or operator.package, operator.channel, operator.source, failed.get("message")))
        raise


def approve(module, operator, subscription):
    """Approve the Subscription's InstallPlan only when it installs exactly ``starting_csv``."""
    plan_ref = _ref(module.kube, operator, "InstallPlan", fields.get(subscription, "status.installPlanRef.name"))
    plan = module.kube.get(plan_ref)
    offered = fields.get(plan or {}, "spec.clusterServiceVersionNames") or []
    if operator.starting_csv not in offered:
        raise ModuleError("InstallPlan {0} installs {1}, not {2}: it was not approved. Pick a starting_csv that channel "
                          "{3} offers.".format(plan_ref.name, ", ".join(offered) or "nothing", operator.starting_csv,
                                               operator.channel))
    if not fields.get(plan, "spec.approved"):
        module.ensurer.present({"apiVersion": OLM_V1ALPHA1, "kind": "InstallPlan", "metadata": {
            "name": plan_ref.name, "namespace": operator.namespace}, "spec": {"approved": True}}, ["spec.approved"])


def _failed_for(csv, now=time.time):
    """Seconds the CSV has been Failed (its lastTransitionTime survives our runs; -1 when it is not Failed)."""
    status = (csv or {}).get("status") or {}
    if status.get("phase") != "Failed":
        return -1
    try:
        since = datetime.datetime.strptime(status.get("lastTransitionTime", ""), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return 0
    return now() - calendar.timegm(since.timetuple())


def _installed(operator):
    """The Subscription has installed what was asked: ``starting_csv`` with Manual approval (later versions wait
    for their own approval), else the CSV it is on (during an upgrade the installed one is still the old one)."""
    if operator.approval == "Manual":
        return wait.field_equals("status.installedCSV", operator.starting_csv)

    def test(obj):
        status = (obj or {}).get("status") or {}
        return bool(status.get("installedCSV")) and status.get("currentCSV") in (None, status["installedCSV"])
    return wait.Predicate("the Subscription reports its current CSV installed", test)


def wait_for_csv(module, operator):
    """The installed CSV once it Succeeded; a Failed phase fails only when it outlasts the grace period."""
    subscription_ref = _ref(module.kube, operator, "Subscription", operator.subscription)
    subscription = module.wait_until(subscription_ref, _installed(operator))
    csv_ref = _ref(module.kube, operator, "ClusterServiceVersion", fields.get(subscription, "status.installedCSV"))
    stays_failed = wait.Predicate("status.phase stays Failed for {0}s".format(CSV_FAILED_GRACE_SECONDS),
                                  lambda obj: _failed_for(obj) >= CSV_FAILED_GRACE_SECONDS)
    try:
        return module.wait_until(csv_ref, wait.phase_in("Succeeded"), fail_when=stays_failed,
                                 recheck=CSV_RECHECK_SECONDS)
    except wait.WaitFailed as exc:
        status = (exc.last or {}).get("status") or {}
        if status.get("phase") == "Failed" and not isinstance(exc, wait.WaitTimedOut):
            raise ModuleError("{0} stayed Failed for {1}s (reason {2}): {3}".format(
                describe(csv_ref), CSV_FAILED_GRACE_SECONDS, status.get("reason"), status.get("message")),
                last_status=status)
        raise
