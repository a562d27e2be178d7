# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: value_problems
short_description: Which variables hold a name or a size that Kubernetes would refuse
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Lets a playbook refuse a wrong name or size before its first write, where the API server would refuse it only
    when its object is created.
positional: _input, kind
options:
  _input:
    description: The variables to check, each name with its value.
    type: dict
    required: true
  kind:
    description:
      - C(name) checks each value as a DNS-1123 label, the form of namespace and VM names (at most 63 lower case
        alphanumeric characters or C(-), starting and ending with an alphanumeric character).
      - C(size) checks each value as a disk size the way users write a storage request, a number with an optional
        suffix (C(Ki), C(Mi), C(Gi), C(Ti), C(Pi), C(Ei), C(k), C(M), C(G), C(T), C(P), C(E)), such as C(30Gi).
    type: str
    choices: [name, size]
    required: true
"""

EXAMPLES = r"""
- name: Check the names and sizes before anything is written
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join(' ') }}"
  vars:
    problems: >-
      {{ {'vm_namespace': vm_namespace, 'vm_name': vm_name} | ontap.virtualization.value_problems('name')
         + {'vm_root_size': vm_root_size} | ontap.virtualization.value_problems('size') }}
"""

RETURN = r"""
_value:
  description: One sentence per variable whose value Kubernetes would refuse, naming the variable and what is wrong.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.ontap.virtualization.plugins.module_utils.names import dns1123_label_error, is_quantity


def _size_error(value):
    return None if is_quantity(value) else "'{0}' is not a size such as 30Gi".format(value)


ERRORS = {"name": lambda value: dns1123_label_error(str(value)), "size": _size_error}


def value_problems(variables, kind):
    if kind not in ERRORS:
        raise AnsibleFilterError("value_problems checks a name or a size, not '{0}'".format(kind))
    error = ERRORS[kind]
    return ["{0}: {1}.".format(variable, error(value)) for variable, value in variables.items() if error(value)]


class FilterModule(object):
    def filters(self):
        return {"value_problems": value_problems}
