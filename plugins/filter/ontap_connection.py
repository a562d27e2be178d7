# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ontap_connection
short_description: The connection options of the netapp.ontap modules for an ONTAP management LIF
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Turns a management LIF as a Trident backend names it (C(host), C(host:port), C([IPv6]) or C([IPv6]:port)) and
    an account into the options every C(netapp.ontap) module takes, for
    C(module_defaults) of the group C(group/netapp.ontap.netapp_ontap). HTTPS and REST only.
  - An IPv6 address keeps its brackets in C(hostname), because the C(netapp.ontap) modules put the
    host name into the URL as it is (C(https://<hostname>:<http_port>/api/)).
  - Refuses, with a sentence naming the form to use, a bare IPv6 address (C(fd00::1) cannot be told apart from a
    host and a port), a URL, a path, and a port that is not a number from 1 to 65535.
positional: _input, username, password, validate_certs
options:
  _input:
    description: The management LIF.
    type: str
    required: true
  username:
    description: The ONTAP account. Left out of the result when not given.
    type: str
  password:
    description: Its password. Left out of the result when not given.
    type: str
  validate_certs:
    description: Whether to verify ONTAP's TLS certificate.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Read ONTAP with a backend's account
  module_defaults:
    group/netapp.ontap.netapp_ontap: >-
      {{ backend.management_lif | ontap.virtualization.ontap_connection(backend.username, backend.password, false) }}
  netapp.ontap.na_ontap_rest_info:
    gather_subset: [svm/svms]
"""

RETURN = r"""
_value:
  description:
    - The options C(hostname), C(http_port) (only when the LIF names a port), C(username), C(password) (only when
      given), C(https=true), C(validate_certs) and C(use_rest=always).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.ontap.virtualization.plugins.module_utils import ontap


def ontap_connection(management_lif, username=None, password=None, validate_certs=True):
    try:
        found = ontap.connection(management_lif, username, password, validate_certs)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))
    if found["http_port"] is None:
        del found["http_port"]
    return found


class FilterModule(object):
    def filters(self):
        return {"ontap_connection": ontap_connection}
