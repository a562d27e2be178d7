# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: trident_ontap_problems
short_description: What an ONTAP SVM lacks for a Trident backend
version_added: 1.0.0
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
from ansible_collections.ontap.virtualization.plugins.module_utils.ontap import backend_problems


def trident_ontap_problems(info, backend):
    return backend_problems(info, backend)


class FilterModule(object):
    def filters(self):
        return {"trident_ontap_problems": trident_ontap_problems}
