# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: trident_ontap_problems
short_description: What an ONTAP SVM lacks for a Trident backend
version_added: 0.1.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Reads what M(netapp.ontap.na_ontap_rest_info) gathered about an ONTAP system and says, for one Trident backend,
    what is missing before Trident can use it, and how to fix each thing.
  - Checks that the SVM exists, that the protocol the backend needs is enabled on it (NFS for NAS drivers, iSCSI,
    NVMe/TCP or FC for SAN drivers), that it has a data LIF for that protocol, and that the account has a role
    Trident can work with.
positional: _input, backend
options:
  _input:
    description:
      - The C(ontap_info) returned by M(netapp.ontap.na_ontap_rest_info) with the subsets C(svm/svms),
        C(network/ip/interfaces) and, optionally, C(security/accounts) and C(security/roles).
    type: dict
    required: true
  backend:
    description:
      - The backend, with the keys C(storage_driver), C(san_type), C(svm) and C(username) as the
        M(ontap.virtualization.trident_backend) module takes them.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Fail with every problem at once
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join(' ') }}"
  vars:
    problems: "{{ ontap.ontap_info | ontap.virtualization.trident_ontap_problems(backend) }}"
"""

RETURN = r"""
_value:
  description: One sentence per problem, each saying what to change. Empty when the SVM is ready.
  type: list
  elements: str
"""

# One list of drivers for the whole collection: the module_utils that the modules check backends with.
from ansible_collections.ontap.virtualization.plugins.module_utils.trident import NAS_DRIVERS

PROTOCOLS = {
    "nfs": ("NFS", "data_nfs", "netapp.ontap.na_ontap_nfs"),
    "iscsi": ("iSCSI", "data_iscsi", "netapp.ontap.na_ontap_iscsi"),
    "nvme": ("NVMe/TCP", "data_nvme_tcp", "netapp.ontap.na_ontap_nvme"),
    "fcp": ("FC", None, "netapp.ontap.na_ontap_fcp"),
}
# Roles Trident documents as sufficient (cluster admin, SVM admin).
BUILTIN_ROLES = ("admin", "vsadmin")
# The REST paths Trident writes to; a custom role needs "all" on them (NetApp/trident contrib/ontap/trident_role).
REQUIRED_PATHS = {
    "nfs": ("/api/storage/volumes", "/api/protocols/nfs/export-policies"),
    "iscsi": ("/api/storage/volumes", "/api/storage/luns", "/api/protocols/san/igroups", "/api/protocols/san/lun-maps"),
    "nvme": ("/api/storage/volumes", "/api/storage/namespaces", "/api/protocols/nvme/subsystems",
             "/api/protocols/nvme/subsystem-maps"),
    "fcp": ("/api/storage/volumes", "/api/storage/luns", "/api/protocols/san/igroups", "/api/protocols/san/lun-maps"),
}


def _records(info, subset):
    found = info.get(subset) or info.get(subset.replace("/", "_")) or {}
    return found.get("records") or [] if isinstance(found, dict) else []


def backend_protocol(backend):
    if backend.get("storage_driver") in NAS_DRIVERS:
        return "nfs"
    return backend.get("san_type") or "iscsi"


def _svm_problems(svm, protocol):
    name, _service, fix_module = PROTOCOLS[protocol]
    state = svm.get(protocol) or {}
    if state.get("allowed") is False:
        return ["{0} is not an allowed protocol of SVM '{1}': add it to the SVM's allowed protocols "
                "(netapp.ontap.na_ontap_svm allowed_protocols), then enable it ({2}).".format(
                    name, svm["name"], fix_module)]
    if not state.get("enabled"):
        return ["{0} is not enabled on SVM '{1}': enable the {0} service ({2}).".format(name, svm["name"], fix_module)]
    return []


def _lif_problems(info, svm_name, protocol):
    name, service, _fix = PROTOCOLS[protocol]
    if service is None:  # FC LIFs are not IP interfaces
        return []
    lifs = [lif for lif in _records(info, "network/ip/interfaces")
            if (lif.get("svm") or {}).get("name") == svm_name and service in (lif.get("services") or [])
            and lif.get("state", "up") == "up" and lif.get("enabled", True)]
    if lifs:
        return []
    return ["SVM '{0}' has no data LIF that is up for {1} (service {2}): create one "
            "(netapp.ontap.na_ontap_interface with a service policy that includes {2}).".format(svm_name, name, service)]


def _account_problems(info, username, protocol):
    accounts = [a for a in _records(info, "security/accounts") if a.get("name") == username]
    if not accounts:
        return []  # an SVM-scoped account may not read accounts: Trident's own login check will tell
    role = (accounts[0].get("role") or {}).get("name")
    if role in BUILTIN_ROLES:
        return []
    privileges = {}
    for found in _records(info, "security/roles"):
        if found.get("name") == role:
            privileges = dict((p.get("path"), p.get("access")) for p in found.get("privileges") or [])
    missing = [path for path in REQUIRED_PATHS[protocol] if privileges.get(path) != "all"]
    if not missing:
        return []
    return ["Account '{0}' has role '{1}', which lacks access 'all' to {2}: use the vsadmin role, or add these "
            "privileges (netapp.ontap.na_ontap_user_role).".format(username, role, ", ".join(missing))]


def trident_ontap_problems(info, backend):
    protocol = backend_protocol(backend)
    svms = _records(info, "svm/svms")
    svm_name = backend.get("svm")
    if not svm_name:
        if len(svms) != 1:
            return ["The backend names no SVM and the account sees {0} SVMs: set svm.".format(len(svms))]
        svm_name = svms[0]["name"]
    matches = [svm for svm in svms if svm.get("name") == svm_name]
    if not matches:
        return ["SVM '{0}' does not exist on this ONTAP system, or the account cannot see it: create it "
                "(netapp.ontap.na_ontap_svm) or correct svm.".format(svm_name)]
    return (_svm_problems(matches[0], protocol) + _lif_problems(info, svm_name, protocol)
            + _account_problems(info, backend.get("username"), protocol))


class FilterModule(object):
    def filters(self):
        return {"trident_ontap_problems": trident_ontap_problems}
