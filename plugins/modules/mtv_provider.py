#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mtv_provider
short_description: Manage an MTV vSphere source Provider and its credentials Secret
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Creates or updates a vSphere Provider of the Migration Toolkit for Virtualization and the Secret with its
    credentials, then waits until MTV has connected to vCenter and loaded its inventory.
  - How vCenter's certificate is trusted is decided before anything is written. O(vcenter_ca_cert) gives the CA;
    O(thumbprint) makes the module read the certificate vCenter presents, compare its SHA-1 thumbprint with the
    one given (refusing on a mismatch, naming both, with nothing written) and pin that certificate;
    O(insecure_skip_verify) skips verification, with a warning.
  - When the Provider does not become Ready, the task fails with the Provider's blocking conditions (wrong
    credentials, a URL without C(/sdk), a certificate that is not trusted), and a Provider this run created is
    removed again.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
options:
  state:
    description: Whether the Provider should exist. V(absent) also deletes the Secret the module made for it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: Name of the Provider.
    type: str
    required: true
  namespace:
    description: Namespace of the Provider and its Secret (usually MTV's namespace).
    type: str
    default: openshift-mtv
  url:
    description: The vCenter SDK endpoint, including the path C(/sdk), for example C(https://vcenter.example.com/sdk).
    type: str
  vcenter_username:
    description:
      - The vCenter user, for example C(administrator@vsphere.local). Without O(vcenter_username) and
        O(vcenter_password) the Secret O(secret_name) must exist already.
    type: str
  vcenter_password:
    description: The vCenter password. Stored only in the Secret.
    type: str
  secret_name:
    description: Name of the credentials Secret. Defaults to C(<name>-credentials).
    type: str
  vcenter_ca_cert:
    description: The PEM text of the CA that signed vCenter's certificate.
    type: str
  thumbprint:
    description:
      - The SHA-1 thumbprint (fingerprint) of vCenter's certificate, as vCenter shows it
        (C(AA:BB:...); separators and case do not matter). The live certificate must match it; it is then pinned.
    type: str
  insecure_skip_verify:
    description: Do not verify vCenter's certificate (false when unset). Prints a warning; use only in labs.
    type: bool
  sdk_endpoint:
    description: Whether the URL is a vCenter or an ESXi host (C(settings.sdkEndpoint)).
    type: str
    choices: [vcenter, esxi]
    default: vcenter
  vddk_init_image:
    description: The VDDK init image (C(settings.vddkInitImage)), needed for warm migrations.
    type: str
  settings:
    description: Other Provider settings, for example C(useVddkAioOptimization).
    type: dict
attributes:
  check_mode:
    details: The certificate is still read and checked; writes are dry runs; the module does not wait.
  diff_mode:
    details: Secret values show only as hidden or hidden and changed.
"""

EXAMPLES = r"""
- name: vCenter as an MTV source, its certificate pinned after checking the thumbprint
  ontap.virtualization.mtv_provider:
    name: vcenter
    url: https://vcenter.example.com/sdk
    vcenter_username: administrator@vsphere.local
    vcenter_password: "{{ vcenter_password }}"
    thumbprint: "52:6C:4E:88:1D:78:AE:12:1C:F3:BB:6C:5B:F4:E2:82:86:A7:08:AF"
    vddk_init_image: registry.example.com/vddk:8.0.3
  register: source
"""

RETURN = r"""
provider:
  description: The Provider after the wait.
  returned: with state=present
  type: dict
  contains:
    name: {description: Its name., type: str}
    namespace: {description: Its namespace., type: str}
    uid: {description: Its UID (the inventory API addresses the provider by it)., type: str}
    url: {description: The SDK URL., type: str}
    phase: {description: "Its phase (V(Ready) once connected and loaded).", type: str}
    fingerprint: {description: SHA-1 thumbprint of the certificate MTV connected to., type: str}
    conditions: {description: Its conditions., type: list, elements: dict}
secret:
  description: Name of the credentials Secret.
  returned: with state=present
  type: str
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of the managed fields of every object the run changed (Secret values hidden).
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import mtv_provider
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    name=dict(type="str", required=True),
    namespace=dict(type="str", default="openshift-mtv"),
    url=dict(type="str"),
    vcenter_username=dict(type="str"),
    vcenter_password=dict(type="str", no_log=True),
    secret_name=dict(type="str"),
    vcenter_ca_cert=dict(type="str"),
    thumbprint=dict(type="str"),
    insecure_skip_verify=dict(type="bool"),
    sdk_endpoint=dict(type="str", choices=["vcenter", "esxi"], default="vcenter"),
    vddk_init_image=dict(type="str"),
    settings=dict(type="dict"),
)
REQUIRED_IF = [("state", "present", ["url"])]
REQUIRED_TOGETHER = [("vcenter_username", "vcenter_password")]
MUTUALLY_EXCLUSIVE = [("vcenter_ca_cert", "thumbprint", "insecure_skip_verify")]


def run(module):
    if module.params["state"] == "absent":
        return module.result(**mtv_provider.absent(module))
    return module.result(**mtv_provider.present(module))


def main():
    KubeModule(ARGUMENT_SPEC, progress=True, required_if=REQUIRED_IF, required_together=REQUIRED_TOGETHER,
               mutually_exclusive=MUTUALLY_EXCLUSIVE).run(run)


if __name__ == "__main__":
    main()
