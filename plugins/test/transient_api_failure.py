# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: transient_api_failure
short_description: Whether a task of another collection failed on an answer that goes away by itself
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - True when a registered result of M(kubernetes.core.k8s), M(kubernetes.core.k8s_info) or
    M(kubevirt.core.kubevirt_vm) failed on throttling (429), a server error (500, 502, 503, 504) or a dropped
    connection; false when it succeeded or failed for any other reason.
  - Those modules do not try again themselves; an idempotent task (a read, or a create-or-patch) can, with
    C(until) and C(retries). Our own modules back off on the same answers inside.
options:
  _input:
    description: The registered result (of one loop item, where C(until) is used in a loop).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Read the VMs, again while the API server is busy
  kubernetes.core.k8s_info:
    api_version: kubevirt.io/v1
    kind: VirtualMachine
    namespace: vms
  register: vms
  until: vms is not ontap.virtualization.transient_api_failure
  retries: 5
  delay: 2
"""

RETURN = r"""
_value:
  description: Whether the result is a failure that a retry may cure.
  type: bool
"""

import re

from ansible_collections.ontap.virtualization.plugins.module_utils.retry import RETRYABLE_STATUS

_CODES = "|".join(str(status) for status in sorted(RETRYABLE_STATUS))
# How the Kubernetes client's errors carry the status into a task's message: "(503)\nReason: ..." or
# "503\nReason: ..." (k8s_info wraps the latter in "Exception '...'"), or the API server's Status body,
# '"code":503' as the API server writes it, with a space where a proxy re-encoded it; and a dropped connection.
TRANSIENT_MESSAGE = re.compile(
    r"\b({0})\)?\s*Reason:|\"code\":\s*({0})\b|Connection aborted|RemoteDisconnected|Connection reset".format(_CODES))
TRANSIENT_REASONS = frozenset(["Too Many Requests", "Internal Server Error", "Bad Gateway", "Service Unavailable",
                               "Gateway Timeout"])


def transient_api_failure(result):
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    if result.get("status") in RETRYABLE_STATUS or result.get("reason") in TRANSIENT_REASONS:
        return True
    return bool(TRANSIENT_MESSAGE.search(str(result.get("msg", ""))))


class TestModule(object):
    def tests(self):
        return {"transient_api_failure": transient_api_failure}
