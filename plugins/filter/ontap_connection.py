# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ontap_connection
short_description: The connection options of the netapp.ontap modules for an ONTAP management LIF
version_added: 0.1.0
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

import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

_BRACKETED = re.compile(r"^\[(?P<address>[^\[\]]*)\](?::(?P<port>[^:]*))?$")
# A host name or an IPv4 address: no space, path, user, query or bracket.
_HOST = re.compile(r"^[^\s/@?#\[\]:]+$")
FORMS = "host, host:port, [IPv6 address] or [IPv6 address]:port, for example 10.0.0.5, 10.0.0.5:8443 or [fd00::5]"


def _port(lif, text):
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise AnsibleFilterError("The port of the ONTAP management LIF '{0}' must be a number from 1 to 65535, "
                                 "not '{1}'.".format(lif, text))
    return int(text)


def _is_ipv6(text):
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


def parse_management_lif(lif):
    """(hostname, port or None) as the netapp.ontap modules take them; AnsibleFilterError when lif is not usable."""
    if not isinstance(lif, string_types) or not lif.strip():
        raise AnsibleFilterError("The ONTAP management LIF is empty or not a string ({0!r}): give its address as "
                                 "{1}.".format(lif, FORMS))
    if "://" in lif:
        raise AnsibleFilterError("The ONTAP management LIF '{0}' is a URL: give only the address, with the port "
                                 "when it is not 443, as {1}.".format(lif, FORMS))
    bracketed = _BRACKETED.match(lif)
    if bracketed:
        if not _is_ipv6(bracketed.group("address")):
            raise AnsibleFilterError("The ONTAP management LIF '{0}' has brackets around '{1}', which is not an IPv6 "
                                     "address: brackets are only for IPv6 ([fd00::5] or [fd00::5]:8443).".format(
                                         lif, bracketed.group("address")))
        return "[{0}]".format(bracketed.group("address")), _port(lif, bracketed.group("port"))
    if _is_ipv6(lif):
        raise AnsibleFilterError("The ONTAP management LIF '{0}' is an IPv6 address without brackets, where a port "
                                 "cannot be told apart from the address: write [{0}], or [{0}]:<port> for a port "
                                 "other than 443.".format(lif))
    host, _colon, port = lif.partition(":")
    if not _HOST.match(host) or (_colon and ":" in port):
        raise AnsibleFilterError("The ONTAP management LIF '{0}' is not an address the netapp.ontap modules can "
                                 "use: give {1}.".format(lif, FORMS))
    return host, _port(lif, port if _colon else None)


def ontap_connection(management_lif, username=None, password=None, validate_certs=True):
    hostname, port = parse_management_lif(management_lif)
    found = {"hostname": hostname, "https": True, "validate_certs": validate_certs, "use_rest": "always"}
    if port is not None:
        found["http_port"] = port
    if username is not None:
        found["username"] = username
    if password is not None:
        found["password"] = password
    return found


class FilterModule(object):
    def filters(self):
        return {"ontap_connection": ontap_connection}
