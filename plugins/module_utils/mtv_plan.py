# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An MTV Plan with its NetworkMap and StorageMap, its VMs resolved through the inventory before anything is written.

Facts from kubev2v/forklift v2.12.5: a Plan needs ``provider``, ``map``, ``targetNamespace`` and ``vms``;
a plan with a Critical or Error condition is not Ready and cannot start; changing a running plan's spec
or maps cancels its migration (reason Modified). kubectl-mtv (``pkg/cmd/create/plan/plan.go``) resolves VM
names to ids client-side, maps the first source network to the pod network and every other to ``ignored``,
and every datastore to one default class; KubeVirt live migration needs ReadWriteMany, which Trident's
ontap-san gives only with volumeMode Block.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ontap.virtualization.plugins.module_utils import (
    fields, mtv_common, mtv_inventory, mtv_offload, secrets, wait)
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, describe
from ansible_collections.ontap.virtualization.plugins.module_utils.mtv_inventory import Inventory

TRIDENT = "csi.trident.netapp.io"
DEFAULT_VIRT_CLASS = "storageclass.kubevirt.io/is-default-virt-class"
RUNNING = ("Executing",)
DONE = ("Succeeded", "Archived")
MANAGED_PLAN_KEYS = ("provider", "map", "targetNamespace", "type", "vms")
ITEM = re.compile(r"id:(?P<id>\S*)\s+name:'(?P<name>[^']*)'")


def map_names(name):
    return name + "-network", name + "-storage"


def resolve_vms(documents, wanted):
    """Inventory documents of the VMs asked for (by id or name), in the order given; every problem is named."""
    found, problems = [], []
    for entry in wanted:
        key = "id" if entry.get("id") else "name"
        matches = [vm for vm in documents if vm.get(key) == entry[key]]
        if not matches:
            problems.append("VM {0} is not in the inventory of the provider".format(entry[key]))
        elif len(matches) > 1:
            problems.append("VM name {0} is ambiguous ({1}); give its id instead".format(
                entry["name"], ", ".join("{0} at {1}".format(m["id"], m.get("path") or "?") for m in matches)))
        else:
            found.append(matches[0])
    ids = [vm["id"] for vm in found]
    duplicates = sorted(set(i for i in ids if ids.count(i) > 1))
    if duplicates:
        problems.append("the VM{0} {1} {2} listed twice".format(
            "s" if len(duplicates) > 1 else "", ", ".join(duplicates), "are" if len(duplicates) > 1 else "is"))
    if problems:
        raise ModuleError("Cannot build the plan: {0}. Nothing was written.".format("; ".join(problems)))
    return found


def _name_pattern(text):
    try:
        return re.compile("(?:{0})\\Z".format(text))
    except re.error as exc:
        raise ModuleError("vm_name_pattern {0!r} is not a regular expression ({1}). Nothing was written.".format(
            text, exc))


def selected_vms(params, documents, folders=None):
    """The VMs in ``vm_folder`` (with its subfolders) whose whole name matches ``vm_name_pattern``, by name then id.

    ``folders`` is (folder documents, datacenter documents) when ``vm_folder`` is given.
    """
    chosen, asked = list(documents), []
    if params.get("vm_folder"):
        paths = mtv_inventory.folder_paths(*folders)
        folder = mtv_inventory.find_folder(paths, params["vm_folder"])
        chosen = [vm for vm in chosen if mtv_inventory.in_folder(vm, paths, folder)]
        asked.append("in folder {0}".format(folder))
    if params.get("vm_name_pattern"):
        pattern = _name_pattern(params["vm_name_pattern"])
        chosen = [vm for vm in chosen if pattern.match(vm.get("name") or "")]
        asked.append("whose name matches {0}".format(params["vm_name_pattern"]))
    if not chosen:
        raise ModuleError("No VM of the provider is {0}: the plan would be empty. Check vm_folder and "
                          "vm_name_pattern (the pattern must match the whole name). Nothing was written.".format(
                              " and ".join(asked)))
    return sorted(chosen, key=lambda vm: (vm.get("name") or "", vm["id"]))


def select_vms(inventory, provider, params):
    """The plan's VMs from one list of the provider's VMs (and of its folders when selecting by folder)."""
    documents = inventory.vms(provider)
    if params["vms"]:
        return resolve_vms(documents, params["vms"])
    folders = (inventory.folders(provider), inventory.datacenters(provider)) if params.get("vm_folder") else None
    return selected_vms(params, documents, folders)


def _vm_networks(vm):
    ids = [fields.get(nic, "network.id") for nic in vm.get("nics") or []]
    ids += [net.get("id") for net in vm.get("networks") or []]
    return [i for n, i in enumerate(ids) if i and i not in ids[:n]]


def _vm_datastores(vm):
    ids = [fields.get(disk, "datastore.id") for disk in vm.get("disks") or []]
    return [i for n, i in enumerate(ids) if i and i not in ids[:n]]


def _lookup(documents, key, what):
    """The inventory document whose id or name is ``key``."""
    matches = [d for d in documents if key in (d.get("id"), d.get("name"))]
    if len(matches) != 1:
        raise ModuleError("{0} {1} is {2} in the source inventory ({3}). Nothing was written.".format(
            what, key, "not" if not matches else "ambiguous", ", ".join(sorted(
                "{0} ({1})".format(d.get("name"), d.get("id")) for d in (matches or documents)))))
    return matches[0]


def network_pairs(params, vms, networks):
    """NetworkMap entries: the given pairs, or the first VM network to the pod network and others ignored."""
    used = []
    for vm in vms:
        used += [i for i in _vm_networks(vm) if i not in used]
    by_id = dict((n["id"], n) for n in networks)
    pairs = []
    if params["network_map"]:
        given = {}
        for entry in params["network_map"]:
            doc = _lookup(networks, entry["source"], "Network")
            destination = {"type": entry["type"]}
            if entry["type"] == "multus":
                destination.update(name=entry["name"], namespace=entry["namespace"] or params["target_namespace"])
            given[doc["id"]] = {"source": {"id": doc["id"], "name": doc.get("name")}, "destination": destination}
        missing = ["{0}: {1}".format(vm["name"], ", ".join(
            by_id.get(i, {}).get("name", i) for i in _vm_networks(vm) if i not in given))
            for vm in vms if any(i not in given for i in _vm_networks(vm))]
        if missing:
            raise ModuleError("network_map leaves networks of these VMs unmapped ({0}); MTV would refuse the plan "
                              "(VMNetworksNotMapped). Map them (type ignored to drop a NIC). Nothing was written."
                              .format("; ".join(missing)))
        pairs = [given[i] for i in used] + [p for i, p in given.items() if i not in used]
    else:
        for index, net_id in enumerate(used):
            pairs.append({"source": {"id": net_id, "name": by_id.get(net_id, {}).get("name")},
                          "destination": {"type": "pod" if index == 0 else "ignored"}})
    for pair in pairs:
        if pair["source"]["name"] is None:
            del pair["source"]["name"]
    return pairs


def default_class(kube, params):
    """The storage class for datastores storage_map leaves out: the option, else the ONTAP SAN (Block RWX) class."""
    if params["storage_class"]:
        return params["storage_class"]
    classes, _version = kube.list(kube.ref("storage.k8s.io/v1", "StorageClass"))
    san = [c for c in classes if c.get("provisioner") == TRIDENT
           and str(fields.get(c, "parameters.backendType") or "").startswith("ontap-san")]
    preferred = [c for c in san if fields.get(c, ("metadata", "annotations", DEFAULT_VIRT_CLASS)) == "true"]
    chosen = preferred or san
    if len(chosen) != 1:
        raise ModuleError("Give storage_class: {0}. Nothing was written.".format(
            "the cluster has no Trident ontap-san class" if not san else
            "the cluster has several ontap-san classes ({0}) and none is the default class for VMs".format(
                ", ".join(sorted(c["metadata"]["name"] for c in san)))))
    return chosen[0]["metadata"]["name"]


def storage_pairs(kube, params, vms, datastores):
    """StorageMap entries: the given pairs, NFS datastores onto the NetApp Shift class when one is given, and every
    other datastore of the VMs to the default class (Block RWX)."""
    used = []
    for vm in vms:
        used += [i for i in _vm_datastores(vm) if i not in used]
    by_id = dict((d["id"], d) for d in datastores)
    given = {}
    for entry in params["storage_map"] or []:
        doc = _lookup(datastores, entry["source"], "Datastore")
        given[doc["id"]] = _storage_destination(entry["storage_class"], entry["volume_mode"], entry["access_mode"])
    shift = params.get("netapp_shift_class")
    if shift:
        mtv_offload.check_shift_class(kube, shift)
        for ds_id in used:
            if ds_id not in given and not mtv_offload.shift_eligible(by_id.get(ds_id) or {}):
                given[ds_id] = {"storageClass": shift}  # Shift claims are Filesystem RWX (NetAppShiftPVCs)
        shift_ids = [i for i, destination in given.items() if destination["storageClass"] == shift]
        mtv_offload.check_shift_plan(params, vms, shift_ids, datastores)
    pairs = []
    rest = [i for i in used if i not in given]
    default = _storage_destination(default_class(kube, params), params["volume_mode"], params["access_mode"]) \
        if rest else None
    for ds_id in used + [i for i in given if i not in used]:
        source = {"id": ds_id}
        if by_id.get(ds_id, {}).get("name"):
            source["name"] = by_id[ds_id]["name"]
        pairs.append({"source": source, "destination": given.get(ds_id, default)})
    return pairs


def offload_pairs(module, pairs, datastores):
    """The pairs with the ONTAP copy-offload plugin, and the offload Secret's values (None without copy_offload)."""
    options = module.params.get("copy_offload")
    if not options:  # None means absent: a pair that had the plugin loses it (the API server drops the null)
        return [dict(pair, offloadPlugin=None) for pair in pairs], None
    driver, values = mtv_offload.offload_values(module, options)
    host_copied = mtv_offload.check_offload_pairs(module.kube, pairs, datastores, driver)
    if host_copied:
        module.warn("copy_offload: {0} {1} not on VMFS, so no XCOPY: the ESXi host copies {2} disks over the storage "
                    "network (still faster than VDDK).".format(", ".join(host_copied),
                                                               "is" if len(host_copied) == 1 else "are",
                                                               "its" if len(host_copied) == 1 else "their"))
    return mtv_offload.with_offload(pairs, mtv_offload.secret_name(module.params)), values


def _storage_destination(storage_class, volume_mode, access_mode):
    destination = {"storageClass": storage_class}
    if volume_mode:
        destination["volumeMode"] = volume_mode
    if access_mode:
        destination["accessMode"] = access_mode
    return destination


def providers(params):
    return {"source": {"name": params["source_provider"], "namespace": params["namespace"]},
            "destination": {"name": params["destination_provider"],
                            "namespace": params["destination_provider_namespace"] or params["namespace"]}}


def desired_objects(params, vms, net_pairs, storage_pairs_):
    network_name, storage_name = map_names(params["name"])
    meta = dict(namespace=params["namespace"])
    network_map = {"apiVersion": mtv_common.FORKLIFT_API, "kind": "NetworkMap",
                   "metadata": dict(meta, name=network_name),
                   "spec": {"provider": providers(params), "map": net_pairs}}
    storage_map = {"apiVersion": mtv_common.FORKLIFT_API, "kind": "StorageMap",
                   "metadata": dict(meta, name=storage_name),
                   "spec": {"provider": providers(params), "map": storage_pairs_}}
    targets = dict((e.get("id") or e.get("name"), e.get("target_name")) for e in params["vms"] or [])
    plan_vms = []
    for vm in vms:
        entry = {"id": vm["id"], "name": vm["name"]}
        target = targets.get(vm["id"]) or targets.get(vm["name"])
        if target:
            entry["targetName"] = target
        plan_vms.append(entry)
    spec = {"provider": providers(params),
            "map": {"network": {"name": network_name, "namespace": params["namespace"]},
                    "storage": {"name": storage_name, "namespace": params["namespace"]}},
            "targetNamespace": params["target_namespace"], "type": params["type"], "vms": plan_vms}
    repeated = sorted(key for key in params["plan_spec"] or {} if key in MANAGED_PLAN_KEYS + ("warm", "archived"))
    if repeated:
        raise ModuleError("plan_spec repeats {0}, which the module sets from its options (archive a plan with "
                          "mtv_migration)".format(", ".join(repeated)))
    spec.update(params["plan_spec"] or {})
    plan = {"apiVersion": mtv_common.FORKLIFT_API, "kind": "Plan",
            "metadata": dict(meta, name=params["name"]), "spec": spec}
    return network_map, storage_map, plan


def _map_managed():
    return ["spec.provider", "spec.map"]


def _plan_managed(plan):
    return ["spec." + key for key in plan["spec"]]


def refuse_changing_a_running_plan(module, objects):
    """A running plan whose spec or maps change is canceled by MTV (reason Modified): refuse instead."""
    kube = module.kube
    plan = objects[2]
    live_plan = kube.get(module.ensurer.ref_of(plan))
    if live_plan is None or not any(mtv_common.condition_true(live_plan, c) for c in RUNNING):
        return live_plan
    differs = []
    for obj, managed in ((objects[0], _map_managed()), (objects[1], _map_managed()), (plan, _plan_managed(plan))):
        live = kube.get(module.ensurer.ref_of(obj))
        if live is None or any(not fields.contains(fields.get(live, p), fields.get(obj, p)) for p in managed):
            differs.append(describe(module.ensurer.ref_of(obj)))
    if differs:
        raise ModuleError("Plan {0}/{1} is running a migration; changing {2} now would make MTV cancel it. Run "
                          "again with the same options, or cancel the migration first.".format(
                              plan["metadata"]["namespace"], plan["metadata"]["name"], ", ".join(differs)))
    return live_plan


def per_vm_blockers(plan):
    """{VM name or "plan": [blocking conditions]} from the plan's Critical/Error conditions and their items."""
    names = dict((vm.get("id"), vm.get("name")) for vm in fields.get(plan, "spec.vms") or [])
    found = {}
    for condition in mtv_common.blockers(plan):
        text = "{0}{1}: {2}".format(condition.get("type"), " ({0})".format(condition["reason"])
                                    if condition.get("reason") else "", (condition.get("message") or "").rstrip("."))
        vms = [ITEM.search(item) for item in condition.get("items") or []]
        vms = [m.group("name") or names.get(m.group("id")) or m.group("id") for m in vms if m]
        for vm in vms or ["plan"]:
            found.setdefault(vm, []).append(text)
    return found


# Blockers that clear by themselves once what the plan depends on catches up: waited out, never final.
TRANSIENT = ("SourceProviderNotReady", "DestinationProviderNotReady", "NetworkMapNotReady", "StorageMapNotReady")


def _settled_blocked(obj):
    """Reconciled at its generation with a blocker that will not clear by itself."""
    return (obj is not None and fields.get(obj, "status.observedGeneration") == fields.get(obj, "metadata.generation")
            and any(c.get("type") not in TRANSIENT for c in mtv_common.blockers(obj))
            and not mtv_common.condition_true(obj, "ValidatingVDDK"))


def _fail_blocked(ref, last, text):
    blocked = per_vm_blockers(last)
    raise ModuleError("{0} is not Ready: {1}. {2}".format(
        describe(ref), "; ".join("{0}: {1}".format(vm, ", ".join(texts)) for vm, texts in blocked.items()), text),
        blockers=blocked, conditions=mtv_common.conditions(last))


def wait_ready(module, ref):
    """The object once Ready at its generation; a blocker that will not clear fails at once, listed per VM."""
    ready = wait.all_of(wait.observed_generation(), wait.condition("Ready"))
    try:
        return module.wait_until(ref, ready, fail_when=wait.Predicate("a blocking condition", _settled_blocked))
    except wait.WaitFailed as exc:
        if isinstance(exc, wait.WaitTimedOut):
            raise
        _fail_blocked(ref, exc.last, "Fix what is named and run again.")


def present(module):
    params = module.params
    kube = module.kube
    source = kube.get(mtv_common.ref(kube, "Provider", params["source_provider"], params["namespace"]))
    if source is None or not mtv_common.condition_true(source, "Ready"):
        raise ModuleError("Provider {0}/{1} {2}. Create it with mtv_provider first. Nothing was written.".format(
            params["namespace"], params["source_provider"], "does not exist" if source is None else "is not Ready"))
    inventory = Inventory(module, params["namespace"])
    vms = select_vms(inventory, source, params)
    net_pairs = network_pairs(params, vms, inventory.networks(source))
    datastores = inventory.datastores(source)
    sto_pairs, offload_secret = offload_pairs(module, storage_pairs(kube, params, vms, datastores), datastores)
    objects = desired_objects(params, vms, net_pairs, sto_pairs)
    refuse_changing_a_running_plan(module, objects)
    if offload_secret:
        secrets.ensure(module, params["namespace"], mtv_offload.secret_name(params), offload_secret)
    if params["create_target_namespace"]:
        module.ensurer.present({"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": params["target_namespace"]}}, [])
    waits = params["wait"] and not module.check_mode
    for obj in objects[:2]:
        if module.ensurer.present(obj, _map_managed()).changed and waits:
            wait_ready(module, module.ensurer.ref_of(obj))  # the plan is validated against Ready maps
    if not offload_secret:  # a plan that no longer offloads leaves no offload Secret of ours behind
        release_offload_secret(module, objects[1]["metadata"]["name"])
    plan = module.ensurer.present(objects[2], _plan_managed(objects[2])).object
    settled = any(mtv_common.condition_true(plan, c) for c in RUNNING + DONE)
    if waits and not settled:
        plan = wait_ready(module, mtv_common.ref(kube, "Plan", params["name"], params["namespace"]))
    return summary(plan, net_pairs, sto_pairs)


def summary(plan, net_pairs, sto_pairs):
    return {"plan": {"name": plan["metadata"]["name"], "namespace": plan["metadata"]["namespace"],
                     "uid": plan["metadata"].get("uid"), "type": fields.get(plan, "spec.type"),
                     "target_namespace": fields.get(plan, "spec.targetNamespace"),
                     "vms": fields.get(plan, "spec.vms") or [],
                     "ready": mtv_common.condition_true(plan, "Ready"),
                     "conditions": mtv_common.conditions(plan)},
            "network_map": net_pairs,
            "storage_map": [dict((k, v) for k, v in pair.items() if v is not None) for pair in sto_pairs]}


def absent(module):
    params = module.params
    kube = module.kube
    network_name, storage_name = map_names(params["name"])
    for kind, name in (("Plan", params["name"]), ("NetworkMap", network_name), ("StorageMap", storage_name)):
        module.ensurer.absent(mtv_common.ref(kube, kind, name, params["namespace"]))
    release_offload_secret(module, storage_name)
    return {}


def release_offload_secret(module, storage_map_name):
    """Delete the collection's offload Secret of this plan unless another StorageMap names it."""
    namespace, name = module.params["namespace"], mtv_offload.secret_name(module.params)
    secrets.release(module, namespace, name,
                    mtv_offload.offload_secret_in_use(module.kube, namespace, name, storage_map_name))
