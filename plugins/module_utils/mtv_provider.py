# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A vSphere source Provider and its credentials Secret, with the trust in vCenter's certificate decided first.

Facts from kubev2v/forklift v2.12.5 (``pkg/controller/provider/validation.go``, ``pkg/lib/util/util.go``):
the Secret needs ``user``, ``password`` and ``ca.crt`` unless ``insecureSkipVerify`` is "true"; the CA is
added to an empty pool, and Go's verifier accepts a certificate that is itself in the pool, so pinning the
leaf certificate works; ``status.fingerprint`` is the SHA-1 of the leaf's DER, uppercase hex with colons.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
import socket
import ssl

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, mtv_common, secrets, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, describe

try:
    from urllib.parse import urlsplit
except ImportError:  # Python 2 (ansible-test sanity imports the file there)
    from urlparse import urlsplit  # type: ignore

TLS_TIMEOUT = 10
SETTINGS = {"sdk_endpoint": "sdkEndpoint", "vddk_init_image": "vddkInitImage"}
INSECURE_WARNING = ("insecure_skip_verify is true: MTV will not verify the certificate of {0}, so a machine in the "
                    "middle can read the vCenter credentials. Give vcenter_ca_cert or thumbprint instead.")


def normalize_thumbprint(text):
    """``AA:BB:...`` (uppercase, colons) from a SHA-1 thumbprint written with or without separators."""
    digits = re.sub(r"[^0-9A-Fa-f]", "", text or "").upper()
    if len(digits) != 40:
        raise ModuleError("thumbprint must be a SHA-1 fingerprint (40 hex digits, e.g. "
                          "52:6C:4E:88:1D:78:AE:12:1C:F3:BB:6C:5B:F4:E2:82:86:A7:08:AF), not '{0}'".format(text))
    return ":".join(digits[i:i + 2] for i in range(0, 40, 2))


def fingerprint(der):
    return ":".join("{0:02X}".format(byte) for byte in bytearray(hashlib.sha1(der).digest()))  # nosec - vSphere's


def endpoint(url):
    parsed = urlsplit(url)
    if parsed.scheme != "https" or not parsed.hostname:
        raise ModuleError("url must be the vCenter SDK endpoint over HTTPS, like https://vcenter.example.com/sdk, "
                          "not '{0}'".format(url))
    return parsed.hostname, parsed.port or 443


def live_certificate(url):
    """The DER of the certificate the server at ``url`` presents, read without trusting it (to check it)."""
    host, port = endpoint(url)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=TLS_TIMEOUT) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        raise ModuleError("Could not read the certificate of {0}:{1} to check the thumbprint: {2}. Check the url "
                          "and that this host can reach vCenter.".format(host, port, exc))


def pinned_certificate(url, thumbprint):
    """The PEM of the live certificate when its SHA-1 is ``thumbprint``; refused (naming both) otherwise."""
    wanted = normalize_thumbprint(thumbprint)
    der = live_certificate(url)
    found = fingerprint(der)
    if found != wanted:
        raise ModuleError("The certificate {0} presents has SHA-1 thumbprint {1}, not the thumbprint given, {2}. "
                          "Nothing was written. Check with the vCenter administrator which is right (a machine in "
                          "the middle, or a renewed certificate) before you change the thumbprint.".format(
                              url, found, wanted))
    return ssl.DER_cert_to_PEM_cert(der)


def verified_ca(url, ca_pem):
    """``ca_pem`` when the server at ``url`` presents a certificate it verifies, as MTV will verify it (the CA alone
    in the pool, a leaf in the pool accepted as Go accepts it, the host name checked); refused before any write."""
    host, port = endpoint(url)
    try:
        context = ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, ValueError) as exc:
        raise ModuleError("vcenter_ca_cert is not a PEM certificate Python can load: {0}.".format(exc))
    context.verify_flags |= getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
    try:
        with socket.create_connection((host, port), timeout=TLS_TIMEOUT) as raw:
            with context.wrap_socket(raw, server_hostname=host):
                return ca_pem
    except ssl.SSLCertVerificationError as exc:
        raise ModuleError("vCenter at {0}:{1} presents a certificate that vcenter_ca_cert does not verify ({2}), so "
                          "MTV would refuse it too. Nothing was written. Give the CA that signed vCenter's "
                          "certificate, or its thumbprint.".format(host, port, exc.verify_message))
    except (OSError, ssl.SSLError) as exc:
        raise ModuleError("Could not connect to {0}:{1} to check its certificate against vcenter_ca_cert: {2}. Check "
                          "the url and that this host can reach vCenter.".format(host, port, exc))


def trust(module):
    """The Secret's trust keys, decided before anything is written."""
    params = module.params
    if params["insecure_skip_verify"]:
        module.warn(INSECURE_WARNING.format(params["url"]))
        return {"insecureSkipVerify": "true"}
    if params["thumbprint"]:
        return {"ca.crt": pinned_certificate(params["url"], params["thumbprint"])}
    if params["vcenter_ca_cert"]:
        if "-----BEGIN CERTIFICATE-----" not in params["vcenter_ca_cert"]:
            raise ModuleError("vcenter_ca_cert must be the PEM text of vCenter's CA certificate (-----BEGIN "
                              "CERTIFICATE-----...), not a file name; use lookup('file', path) to read a file.")
        return {"ca.crt": verified_ca(params["url"], params["vcenter_ca_cert"])}
    raise ModuleError("With vcenter_username and vcenter_password give how to trust vCenter: vcenter_ca_cert, "
                      "thumbprint (checked against the live certificate, then pinned), or insecure_skip_verify: true.")


def secret_name(params):
    return params["secret_name"] or "{0}-credentials".format(params["name"])


def desired_provider(params):
    settings = dict((key, params[option]) for option, key in SETTINGS.items() if params.get(option))
    settings.update(params.get("settings") or {})
    spec = {"type": "vsphere", "url": params["url"],
            "secret": {"name": secret_name(params), "namespace": params["namespace"]}}
    if settings:
        spec["settings"] = settings
    managed = ["spec.type", "spec.url", "spec.secret.name", "spec.secret.namespace"]
    managed += ["spec.settings." + key for key in settings]
    return {"apiVersion": mtv_common.FORKLIFT_API, "kind": "Provider",
            "metadata": {"name": params["name"], "namespace": params["namespace"]}, "spec": spec}, managed


def _settled_with_blocker(obj):
    return (obj is not None and fields.get(obj, "status.observedGeneration") == fields.get(obj, "metadata.generation")
            and bool(mtv_common.blockers(obj)))


def present(module):
    params = module.params
    repeated = sorted(key for key in params.get("settings") or {} if key in SETTINGS.values())
    if repeated:
        raise ModuleError("settings repeats {0}; set it through its option (sdk_endpoint, vddk_init_image)".format(
            ", ".join(repeated)))
    provider, managed = desired_provider(params)
    name = secret_name(params)
    if params["vcenter_username"]:
        values = {"user": params["vcenter_username"], "password": params["vcenter_password"], "url": params["url"]}
        values.update(trust(module))  # a thumbprint mismatch stops here, before any write
        mtv_common.require_installed(module, "Provider")
        secrets.ensure(module, params["namespace"], name, values)
    else:
        mtv_common.require_installed(module, "Provider")
        secrets.require(module, params["namespace"], name, ["user", "password"],
                        "give vcenter_username and vcenter_password")
    live = module.ensurer.present(provider, managed).object
    if params["wait"] and not module.check_mode:
        ref = mtv_common.ref(module.kube, "Provider", params["name"], params["namespace"])
        ready = wait.all_of(wait.observed_generation(), wait.condition("Ready"), wait.condition("InventoryCreated"))
        fails = wait.Predicate("a blocking condition", _settled_with_blocker)
        try:
            live = module.wait_until(ref, ready, fail_when=fails)
        except wait.WaitFailed as exc:
            if isinstance(exc, wait.WaitTimedOut):
                raise
            blocking = "; ".join(mtv_common.describe_condition(c) for c in mtv_common.blockers(exc.last))
            message = "{0} is not Ready (phase {1}): {2}. Fix what it names (the url, the credentials, or how " \
                      "vCenter is trusted) and run again.".format(describe(ref), fields.get(exc.last, "status.phase"),
                                                                  blocking)
            raise ModuleError(message, conditions=mtv_common.conditions(exc.last))
        wanted = normalize_thumbprint(params["thumbprint"]) if params["thumbprint"] else None
        if wanted and fields.get(live, "status.fingerprint") != wanted:
            raise ModuleError("{0} connected to a certificate with thumbprint {1}, not {2}.".format(
                describe(ref), fields.get(live, "status.fingerprint"), wanted))
    return summary(live, name)


def summary(provider, name):
    return {"provider": {"name": provider["metadata"]["name"], "namespace": provider["metadata"]["namespace"],
                         "uid": provider["metadata"].get("uid"), "url": fields.get(provider, "spec.url"),
                         "phase": fields.get(provider, "status.phase"),
                         "fingerprint": fields.get(provider, "status.fingerprint"),
                         "conditions": mtv_common.conditions(provider)},
            "secret": name}


def absent(module):
    params = module.params
    ref = mtv_common.ref(module.kube, "Provider", params["name"], params["namespace"])
    if module.ensurer.absent(ref).changed and params["wait"] and not module.check_mode:
        module.wait_until(ref, wait.absent())
    secrets.release(module, params["namespace"], secret_name(params), still_used=False)
    return {}
