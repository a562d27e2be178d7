# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Options of the modules that read MTV's inventory service."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  inventory_url:
    description:
      - The https address of MTV's inventory service. Defaults to the Route C(forklift-inventory) in the
        namespace (OpenShift).
    type: str
  inventory_token:
    description:
      - The bearer token for the inventory service; its user must be allowed to get the source Provider.
        Defaults to the token of the Kubernetes connection (there is none with client certificates).
    type: str
  inventory_ca_cert:
    description: Path of the CA bundle that verifies the inventory service's certificate.
    type: path
  inventory_validate_certs:
    description: Whether to verify the inventory service's certificate.
    type: bool
    default: true
"""
