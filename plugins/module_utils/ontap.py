# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What an ONTAP SVM must offer a Trident backend, and how to reach it, for the modules and the filters alike.

``backend_problems(info, backend)`` judges what ONTAP's REST API says (records of
``svm/svms``, ``network/ip/interfaces`` and optionally ``security/accounts`` and
``security/roles``, as netapp.ontap's ``na_ontap_rest_info`` returns them) the way
Trident will when it validates the backend; ``read_for_backend`` fetches exactly
those records through netapp.ontap's REST client, with the backend's own account.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.ontap.virtualization.plugins.module_utils.trident import NAS_DRIVERS

PROTOCOLS = {
    "nfs": ("NFS", "data_nfs", "netapp.ontap.na_ontap_nfs"),
    "iscsi": ("iSCSI", "data_iscsi", "netapp.ontap.na_ontap_iscsi"),
    "nvme": ("NVMe/TCP", "data_nvme_tcp", "netapp.ontap.na_ontap_nvme"),
    "fcp": ("FC", None, "netapp.ontap.na_ontap_fcp"),
}
BUILTIN_ROLES = ("admin", "vsadmin")
REQUIRED_PATHS = {
    "nfs": ("/api/storage/volumes", "/api/protocols/nfs/export-policies"),
    "iscsi": ("/api/storage/volumes", "/api/storage/luns", "/api/protocols/san/igroups", "/api/protocols/san/lun-maps"),
    "nvme": ("/api/storage/volumes", "/api/storage/namespaces", "/api/protocols/nvme/subsystems",
             "/api/protocols/nvme/subsystem-maps"),
    "fcp": ("/api/storage/volumes", "/api/storage/luns", "/api/protocols/san/igroups", "/api/protocols/san/lun-maps"),
}
SVM_FIELDS = "name,nfs,iscsi,nvme,fcp"
LIF_FIELDS = "name,svm.name,services,state,enabled,ip.address"

_BRACKETED = re.compile(r"^\[(?P<address>[^\[\]]*)\](?::(?P<port>[^:]*))?$")
# A host name or an IPv4 address: no space, path, user, query or bracket.
_HOST = re.compile(r"^[^\s/@?#\[\]:]+$")
FORMS = "host, host:port, [IPv6 address] or [IPv6 address]:port, for example 10.0.0.5, 10.0.0.5:8443 or [fd00::5]"


def _port(lif, text):
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError("The port of the ONTAP management LIF '{0}' must be a number from 1 to 65535, "
                         "not '{1}'.".format(lif, text))
    return int(text)


def _is_ipv6(text):
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


def parse_management_lif(lif):
    """(hostname, port or None) as netapp.ontap takes them; ValueError saying the form to use when ``lif`` is unusable.

    An IPv6 hostname keeps its brackets: netapp.ontap writes the hostname into its URL as it is.
    """
    if not isinstance(lif, str) or not lif.strip():
        raise ValueError("The ONTAP management LIF is empty or not a string ({0!r}): give its address as {1}.".format(
            lif, FORMS))
    if "://" in lif:
        raise ValueError("The ONTAP management LIF '{0}' is a URL: give only the address, with the port when it is "
                         "not 443, as {1}.".format(lif, FORMS))
    bracketed = _BRACKETED.match(lif)
    if bracketed:
        if not _is_ipv6(bracketed.group("address")):
            raise ValueError("The ONTAP management LIF '{0}' has brackets around '{1}', which is not an IPv6 address: "
                             "brackets are only for IPv6 ([fd00::5] or [fd00::5]:8443).".format(
                                 lif, bracketed.group("address")))
        return "[{0}]".format(bracketed.group("address")), _port(lif, bracketed.group("port"))
    if _is_ipv6(lif):
        raise ValueError("The ONTAP management LIF '{0}' is an IPv6 address without brackets, where a port cannot be "
                         "told apart from the address: write [{0}], or [{0}]:<port> for a port other than 443.".format(
                             lif))
    host, colon, port = lif.partition(":")
    if not _HOST.match(host) or (colon and ":" in port):
        raise ValueError("The ONTAP management LIF '{0}' is not an address the netapp.ontap modules can use: give "
                         "{1}.".format(lif, FORMS))
    return host, _port(lif, port if colon else None)


def untrusted(error):
    """Whether an ONTAP REST error is a certificate the host running the module does not trust."""
    return "CERTIFICATE_VERIFY_FAILED" in str(error)


def untrusted_message(management_lif, option):
    """What to do about it: the netapp.ontap client verifies with the host's CA bundle, it takes no CA of its own."""
    return ("ONTAP's certificate at {0} is not trusted on the host that runs the module: add the CA that signed it to "
            "that host's CA bundle (the system store, or the file REQUESTS_CA_BUNDLE names), or set {1}: false "
            "to connect without verifying.".format(management_lif, option))


def connection(management_lif, username=None, password=None, validate_certs=True):
    """The connection options of the netapp.ontap modules (and of their REST client) for ``management_lif``."""
    hostname, port = parse_management_lif(management_lif)
    found = {"hostname": hostname, "http_port": port, "https": True, "validate_certs": validate_certs,
             "use_rest": "always"}
    if username is not None:
        found["username"] = username
    if password is not None:
        found["password"] = password
    return found


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


def _lif_problems(info, svm_name, protocol, data_lif):
    name, service, _fix = PROTOCOLS[protocol]
    if service is None:  # FC LIFs are not IP interfaces
        return []
    lifs = [lif for lif in _records(info, "network/ip/interfaces")
            if (lif.get("svm") or {}).get("name") == svm_name and service in (lif.get("services") or [])
            and lif.get("state", "up") == "up" and lif.get("enabled", True)]
    if not lifs:
        return ["SVM '{0}' has no data LIF that is up for {1} (service {2}): create one (netapp.ontap.na_ontap_interface "
                "with a service policy that includes {2}).".format(svm_name, name, service)]
    addresses = [(lif.get("ip") or {}).get("address") for lif in lifs]
    if data_lif and all(addresses) and data_lif.strip("[]") not in addresses:
        return ["data_lif {0} is not one of the {1} data LIFs of SVM '{2}' ({3}): give one of them, or leave data_lif "
                "out for Trident to choose.".format(data_lif, name, svm_name, ", ".join(sorted(addresses)))]
    return []


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


def backend_problems(info, backend):
    """What the SVM lacks for ``backend`` (the trident_backend module's options), one sentence each with its fix."""
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
    return (_svm_problems(matches[0], protocol) + _lif_problems(info, svm_name, protocol, backend.get("data_lif"))
            + _account_problems(info, backend.get("username"), protocol))


class _ClientHost(object):
    """What netapp.ontap's REST client asks of the module that runs it, for a module with options of its own.

    The client reads ``params['feature_flags']`` (its defaults apply to None), calls
    ``fail_json`` and ``warn``, and names the module in a request header.
    """

    def __init__(self, ansible_module):
        self.params = {"feature_flags": None}
        self._name = ansible_module._name
        self.fail_json = ansible_module.fail_json
        self.warn = ansible_module.warn


def read_for_backend(ansible_module, options):
    """The records ``backend_problems`` judges, read with netapp.ontap's REST client; (info, error text)."""
    from ansible_collections.netapp.ontap.plugins.module_utils import rest_generic
    from ansible_collections.netapp.ontap.plugins.module_utils.netapp import OntapRestAPI

    rest = OntapRestAPI(_ClientHost(ansible_module), timeout=30, host_options=options)
    info = {}
    for subset, fields in (("svm/svms", SVM_FIELDS), ("network/ip/interfaces", LIF_FIELDS)):
        records, error = rest_generic.get_0_or_more_records(rest, subset, fields=fields)
        if error:
            return None, str(error)
        info[subset] = {"records": records or []}
    return info, None


def read_free_space(ansible_module, options, svm_name=None):
    """(bytes free in the aggregates of ``svm_name`` (or of every aggregate the account sees), error text).

    An SVM lists the aggregates it may put volumes on (``svm/svms`` ``aggregates``); each
    aggregate says what is left of it (``storage/aggregates`` ``space.block_storage.available``).
    """
    from ansible_collections.netapp.ontap.plugins.module_utils import rest_generic
    from ansible_collections.netapp.ontap.plugins.module_utils.netapp import OntapRestAPI

    rest = OntapRestAPI(_ClientHost(ansible_module), timeout=30, host_options=options)
    allowed = None
    if svm_name:
        svms, error = rest_generic.get_0_or_more_records(rest, "svm/svms", {"name": svm_name, "fields": "aggregates"})
        if error:
            return None, str(error)
        if not svms:
            return None, "SVM '{0}' does not exist on this ONTAP system, or the account cannot see it".format(svm_name)
        allowed = set(a.get("name") for a in svms[0].get("aggregates") or []) or None
    aggregates, error = rest_generic.get_0_or_more_records(rest, "storage/aggregates",
                                                           fields="name,space.block_storage.available")
    if error:
        return None, str(error)
    return sum(((a.get("space") or {}).get("block_storage") or {}).get("available") or 0
               for a in aggregates or [] if allowed is None or a.get("name") in allowed), None
