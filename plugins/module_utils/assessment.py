# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The migration_assessment module's workflow: read the target, read vCenter in bulk (or an RVTools export),
judge, fix, plan waves.

Everything but ``fix`` only reads: the StorageClass and its TridentBackendConfigs, the
VirtualMachines of the target namespace, ONTAP's SVM and aggregates, and vCenter's inventory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import socket

from ansible_collections.ontap.virtualization.plugins.module_utils import ontap, readiness, rvtools, trident, waves
from ansible_collections.ontap.virtualization.plugins.module_utils import vsphere_inventory as inventory
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.fields import get
from ansible_collections.ontap.virtualization.plugins.module_utils.vms import KUBEVIRT_API, VM_KIND

SOURCE_VCENTER = "vcenter"
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_UNITS = {None: 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
          "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}


def quantity_bytes(text):
    """Bytes of a Kubernetes quantity such as 50Gi (Trident's limitVolumeSize); None when it is not one."""
    found = _QUANTITY.match(str(text).strip())
    return int(float(found.group(1)) * _UNITS[found.group(2)]) if found else None


def input_problems(params):
    """Numbers the argument spec cannot bound, as sentences."""
    problems = []
    if params.get("rvtools") and params["fix"]:
        problems.append("fix needs a live vCenter: an RVTools export (rvtools) cannot be changed; give vcenter "
                        "instead, or leave fix out")
    if params["page_size"] < 1:
        problems.append("page_size must be at least 1, not {0}".format(params["page_size"]))
    for key, value in sorted((params.get("waves") or {}).items()):
        if key != "prefix" and value is not None and value <= 0:
            problems.append("waves.{0} must be more than 0, not {1}".format(key, value))
    prefix = (params.get("waves") or {}).get("prefix")
    if prefix is not None and not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", prefix):
        problems.append("waves.prefix '{0}' must be lower case letters, digits and '-' (it starts plan names)".format(
            prefix))
    return problems


def class_facts(kube, storage_class, trident_namespace):
    """(block_rwx, copy_offload, limitVolumeSize bytes or None) of a Trident StorageClass and its backends."""
    sc = kube.get(kube.ref("storage.k8s.io/v1", "StorageClass", storage_class))
    if sc is None:
        raise ModuleError("StorageClass '{0}' does not exist: create it (ontap.virtualization.storageclass) or name "
                          "another class in target.storage_class.".format(storage_class))
    if sc.get("provisioner") != trident.CSI_DRIVER:
        return False, False, None
    parameters = sc.get("parameters") or {}
    driver = parameters.get("backendType", parameters.get("trident.netapp.io/backendType"))
    san_type = parameters.get("sanType", parameters.get("trident.netapp.io/sanType"))
    limits = []
    if kube.served(trident.TBC_API_VERSION, "TridentBackendConfig"):
        items = kube.list(kube.ref(trident.TBC_API_VERSION, "TridentBackendConfig", namespace=trident_namespace))[0]
        for item in items:
            spec = item.get("spec") or {}
            if driver and spec.get("storageDriverName") != driver:
                continue
            if san_type and spec.get("sanType", "iscsi") != san_type:
                continue
            limits.append(quantity_bytes(spec["limitVolumeSize"]) if spec.get("limitVolumeSize") else None)
    # Trident places a volume on any matching backend whose limit allows it: the most generous one counts.
    limit = None if not limits or None in limits else max(limits)
    block_rwx = trident.is_san(driver)
    copy_offload = driver == "ontap-san" and san_type in (None, "iscsi", "fcp")
    return block_rwx, copy_offload, limit


def read_target(module):
    params = module.params
    target = readiness.Target()
    options = params.get("target") or {}
    if options.get("storage_class"):
        target.storage_class = options["storage_class"]
        target.block_rwx, target.copy_offload, target.limit_volume_bytes = class_facts(
            module.kube, options["storage_class"], options["trident_namespace"])
    if options.get("namespace"):
        target.namespace = options["namespace"]
        if module.kube.served(KUBEVIRT_API, VM_KIND):
            items = module.kube.list(module.kube.ref(KUBEVIRT_API, VM_KIND, namespace=options["namespace"]))[0]
            target.taken = dict((get(item, "metadata.name"), get(item, "metadata.labels.vmID")) for item in items)
    if params.get("ontap"):
        given = params["ontap"]
        try:
            options = ontap.connection(given["management_lif"], given["username"], given["password"],
                                       given["validate_certs"])
        except ValueError as exc:
            raise ModuleError(str(exc))
        target.free_bytes, error = ontap.read_free_space(module.ansible, options, given.get("svm"))
        if error and ontap.untrusted(error):
            raise ModuleError(ontap.untrusted_message(given["management_lif"], "ontap.validate_certs"))
        if error:
            raise ModuleError("Could not read the free space of the SVM's aggregates from ONTAP at {0}: {1}. Check "
                              "ontap.management_lif, ontap.svm and the account: aggregate space is visible to "
                              "cluster-scoped accounts only (as for Trident's limitAggregateUsage), not to SVM "
                              "administrators.".format(given["management_lif"], error.rstrip(".")))
    return target


def read_vcenter(params):
    """(selected VM facts, round trips, service) from vCenter; the caller disconnects."""
    vc = params["vcenter"]
    try:
        service, counter = inventory.connect(vc["hostname"], vc["username"], vc["password"], port=vc["port"],
                                             validate_certs=vc["validate_certs"], ca_path=vc["ca_path"],
                                             ca_cert=vc["ca_cert"], timeout=vc["timeout"])
    except Exception as exc:  # pylint: disable=broad-except
        raise ModuleError("Could not log in to vCenter {0}:{1}: {2}. Check vcenter.hostname, port, the account, the "
                          "certificate (vcenter.ca_path, ca_cert or validate_certs) and vcenter.timeout.".format(
                              vc["hostname"], vc["port"], getattr(exc, "msg", None) or exc))
    first = counter.calls
    try:
        vms = inventory.read_vms(service.RetrieveContent(), params["page_size"])
    except socket.timeout:
        inventory.disconnect(service)
        raise ModuleError("vCenter {0}:{1} did not answer a request within vcenter.timeout ({2} s) while the inventory "
                          "was read; raise vcenter.timeout, or lower page_size so each page is smaller.".format(
                              vc["hostname"], vc["port"], vc["timeout"]))
    return inventory.select(vms, **params["select"]), counter.calls - first, service


def fix_cbt(module, service, vms):
    """Enable CBT on each selected VM that lacks it; lines of what was (or would be) done."""
    lines = []
    for vm in vms:
        if vm["cbt"]:
            continue
        if not module.check_mode:
            inventory.enable_cbt(service, vm["id"], progress=module.warn)
        lines.append("{0} CBT on VM {1} (effective after its next power cycle or snapshot)".format(
            "would enable" if module.check_mode else "enabled", vm["name"]))
    return lines


def plan_waves(params, rows, target):
    """Waves of the rows that are not blocked; VMs of a wave the SVM has no room for get an ontap_capacity reason."""
    options = params.get("waves")
    if not options:
        return []
    planned = waves.plan(rows, options["prefix"], options["max_vms"], options["max_disk_gib"],
                         options["max_per_host"])
    fitting, refused = waves.refuse_overflow(planned, target.free_bytes)
    by_name = dict((row["name"], row) for row in rows)
    for wave, message in refused:
        for name in wave["vms"]:
            readiness.add_reason(by_name[name], "ontap_capacity", message)
    return fitting


def read_rvtools(params):
    """(selected VM facts, rules the export cannot answer) from the RVTools export in ``params['rvtools']``."""
    if not rvtools.HAS_OPENPYXL:
        raise ModuleError("migration_assessment needs openpyxl on the host that runs it to read rvtools: "
                          "pip install openpyxl.")
    vms, unanswered = rvtools.read_vms(params["rvtools"])
    return inventory.select(vms, **params["select"]), unanswered


def run(module):
    params = module.params
    problems = input_problems(params)
    if problems:
        raise ModuleError("; ".join(problems) + ".")
    # A bad export fails before the cluster is read.
    exported = read_rvtools(params) if params.get("rvtools") else None
    target = read_target(module)
    generated_at = datetime.datetime.utcnow().replace(microsecond=0).isoformat() + "Z"
    if exported:
        vms, unanswered = exported
        warn_missing(module, params, vms, "the RVTools export")
        rows = readiness.assess(vms, target, skip=unanswered)
        source, round_trips, changes = rvtools.SOURCE, 0, []
    else:
        if not inventory.HAS_PYVMOMI:
            raise ModuleError("migration_assessment needs pyVmomi on the host that runs it: pip install pyvmomi.")
        vms, round_trips, service = read_vcenter(params)
        try:
            warn_missing(module, params, vms, "vCenter")
            rows = readiness.assess(vms, target)
            changes = fix_cbt(module, service, vms) if "cbt" in params["fix"] else []
        finally:
            inventory.disconnect(service)
        source, unanswered = SOURCE_VCENTER, []
    planned = plan_waves(params, rows, target)
    assessment = {"source": source, "generated_at": generated_at, "round_trips": round_trips,
                  "summary": readiness.summary(rows), "vms": rows, "unanswered": unanswered}
    return {"changed": bool(changes), "changes": changes, "assessment": assessment, "waves": planned}


def warn_missing(module, params, vms, where):
    missing = sorted(set(params["select"]["names"]) - set(vm["name"] for vm in vms))
    if missing:
        module.warn("No VM named {0} in {1}.".format(", ".join(missing), where))
