"""The provider controller (pkg/controller/provider/{controller,validation}.go at v2.12.5).

Each reconcile stages the conditions afresh (phase Staging), then: validateType, validateURL,
validateSecret (for vSphere: the CA or insecureSkipVerify, a verified TLS handshake, the
certificate's SHA-1 `status.fingerprint`, then the `user` / `password` keys), testConnection
(login through the provider's URL as written), inventoryCreated; `Validated` when nothing
blocks; `Ready` with phase Ready once ConnectionTestSucceeded and InventoryCreated hold.
Requeued after 3 s until then, after 30 s afterwards, never after ConnectionAuthFailed (so
the account is not locked). The lab simulates the vSphere and the `host` (local OpenShift)
providers; other types are left as they are.
"""

import hashlib
import socket
import ssl
import urllib.parse

from lab.controllers.forklift import vsphere
from lab.controllers.forklift.credentials import ca_cert, insecure, secret_data
from lab.controllers.forklift.conditions import ADVISORY, CRITICAL, REQUIRED, WARN, Staged
from lab.controllers.forklift.kinds import SECRET
from lab.controllers.forklift.operator import current_settings
from lab.controllers.runtime import log

PROVIDER_TYPES = ("openshift", "vsphere", "ovirt", "openstack", "ova", "ec2", "hyperv")
SIMULATED_TYPES = ("openshift", "vsphere")
SLOW_REQUEUE, LONG_REQUEUE = 3.0, 30.0
# What vCenter answers a wrong password; vcsim says only "Login failure" (see the lab README).
VCENTER_INVALID_LOGIN = "ServerFaultCode: Cannot complete login due to an incorrect user name or password."


def is_host(provider: dict) -> bool:
    return provider["spec"].get("type") == "openshift" and not provider["spec"].get("url")


class _Review:
    """One reconcile's findings: staged conditions, phase, fingerprint."""

    def __init__(self, provider: dict):
        status = provider.get("status") or {}
        self.provider = provider
        self.conditions = Staged(status.get("conditions"))
        self.phase = "Staging"
        self.fingerprint = status.get("fingerprint")

    def fail(self, phase: str, type_: str, reason: str, message: str, items=None) -> None:
        self.phase = phase
        self.conditions.set(type_, CRITICAL, message, reason=reason, items=items)


def _validate_type(review: _Review) -> None:
    if review.provider["spec"].get("type") not in PROVIDER_TYPES:
        review.fail("ValidationFailed", "ProviderTypeNotSupported", "NotSupported",
                    f"The `type` must be: [{' '.join(PROVIDER_TYPES)}]")


def _validate_url(review: _Review) -> None:
    if is_host(review.provider):
        return
    url = review.provider["spec"].get("url") or ""
    if not url:
        review.fail("ValidationFailed", "UrlNotValid", "NotSet", "The `url` is not valid.")
    try:
        urllib.parse.urlsplit(url).port  # noqa: B018 - parses host and port, as url.Parse does
    except ValueError as error:
        review.fail("ValidationFailed", "UrlNotValid", "Malformed", f"The `url` is malformed: {error}")


def _validate_secret(api, review: _Review):
    """The Secret's data (decoded), or None when it is not there."""
    if is_host(review.provider):
        return None
    ref = review.provider["spec"].get("secret") or {}
    if not ref.get("name") or not ref.get("namespace"):
        review.fail("ValidationFailed", "SecretNotValid", "NotSet", "The `secret` is not valid.")
        return None
    secret = api.get(*SECRET, ref["name"], ref["namespace"])
    if secret is None:
        review.fail("ValidationFailed", "SecretNotValid", "NotFound", "The `secret` is not valid.")
        return None
    data = secret_data(secret)
    required = ["user", "password"]
    if review.provider["spec"].get("type") == "vsphere":
        if not insecure(data) and not ca_cert(data):
            required.append("ca.crt")
        elif not _check_tls(review, data):
            return data
    missing = [key for key in required if key not in data]
    if missing:
        review.fail("ValidationFailed", "SecretNotValid", "DataErr", "The `secret` is not valid.", items=missing)
    return data


def _endpoint(url: str):
    parsed = urllib.parse.urlsplit(url)
    return parsed.hostname or parsed.path, parsed.port or 443


def _peer_certificate(url: str, timeout: float) -> bytes:
    """The server's leaf certificate (DER), unverified, as util.GetTlsCertificate reads it."""
    host, port = _endpoint(url)
    context = ssl._create_unverified_context()  # read before trusting it, as upstream does
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True)


def _verify(url: str, ca_pem: str, timeout: float) -> None:
    """A verified handshake against the Secret's CA (base.VerifyTLSConnection)."""
    host, port = _endpoint(url)
    context = vsphere.trusting(cadata=ca_pem)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=host):
            pass


def fingerprint(der: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in hashlib.sha1(der).digest())  # noqa: S324 - vSphere's thumbprint


def _check_tls(review: _Review, data: dict) -> bool:
    """validateTLSConnection then the fingerprint; False when the connection failed."""
    url = review.provider["spec"].get("url") or ""
    timeout = review.settings.tls_connection_timeout_seconds
    if insecure(data):
        review.conditions.set("ConnectionInsecure", WARN, "TLS is susceptible to machine-in-the-middle attacks "
                              "when certificate verification is skipped.", reason="SkipTLSVerification")
    else:
        try:
            _verify(url, ca_cert(data), timeout)
        except (OSError, ssl.SSLError, ValueError) as error:
            review.fail("ConnectionFailed", "ConnectionTestFailed", "Tested",
                        f"failed to create a secure TLS connection: {error}")
    try:
        review.fingerprint = fingerprint(_peer_certificate(url, timeout))
    except (OSError, ValueError) as error:
        review.fail("ConnectionFailed", "ConnectionTestFailed", "Tested", f"{error} url: {url}")
        return False
    return True


def _test_connection(review: _Review, data) -> None:
    if review.conditions.has_blocker():
        return
    if review.provider["spec"].get("type") == "vsphere":
        try:
            _login(review.provider, data, review.settings)
        except vsphere.LoginRefused:
            review.fail("ConnectionFailed", "ConnectionAuthFailed", "Tested",
                        f"Connection auth failed, error: {VCENTER_INVALID_LOGIN}")
            return
        except Exception as error:  # any other failure of the connection or the login
            review.fail("ConnectionFailed", "ConnectionTestFailed", "Tested", f"Connection test, failed: {error}")
            return
    review.conditions.set("ConnectionTestSucceeded", REQUIRED, "Connection test, succeeded.", reason="Tested")


def _login(provider: dict, data: dict, settings) -> None:
    url = provider["spec"]["url"]
    service = vsphere.connect(url, data.get("user", ""), data.get("password", ""), cadata=ca_cert(data),
                              insecure=insecure(data), timeout=settings.tls_connection_timeout_seconds)
    try:
        endpoint = (provider["spec"].get("settings") or {}).get("sdkEndpoint")
        is_vc = service.content.about.apiType == "VirtualCenter"
        if endpoint == "vcenter" and not is_vc:
            raise RuntimeError("provider sdkEndpoint is set to vCenter but the URL points to an ESXi host")
        if endpoint == "esxi" and is_vc:
            raise RuntimeError("provider sdkEndpoint is set to ESXi but the URL points to a vCenter server")
    finally:
        vsphere.disconnect(service)


def _inventory_created(review: _Review, collectors) -> None:
    if review.conditions.has_blocker():
        return
    collector = collectors.get(review.provider)
    if collector is None:
        return
    if collector.has_parity():
        review.conditions.set("InventoryCreated", REQUIRED, "The inventory has been loaded.", reason="Completed")
    else:
        review.conditions.set("LoadInventory", ADVISORY, "Loading the inventory.", reason="Started")


def _ready(review: _Review) -> None:
    if not review.conditions.has_blocker():
        review.conditions.set("Validated", ADVISORY, "Validation has been completed.", reason="Completed")
    if not review.conditions.has_blocker() and review.conditions.has("ConnectionTestSucceeded", "InventoryCreated"):
        review.phase = "Ready"
        review.conditions.set("Ready", REQUIRED, "The provider is ready.")


def _write_status(api, review: _Review) -> None:
    status = {"phase": review.phase, "conditions": review.conditions.result(),
              "observedGeneration": review.provider["metadata"].get("generation")}
    if review.fingerprint:
        status["fingerprint"] = review.fingerprint
    api.patch_status(review.provider, status)


def make_reconcile(collectors):
    def reconcile_provider(api, provider: dict):
        settings = current_settings(api)
        if settings is None:
            return 10.0  # no Forklift controller runs
        if provider["spec"].get("type") in PROVIDER_TYPES and provider["spec"].get("type") not in SIMULATED_TYPES:
            log.info("forklift: %s providers are not simulated", provider["spec"]["type"])
            return None
        if provider["spec"].get("type") == "openshift" and not is_host(provider):
            return None  # a remote OpenShift destination is not simulated
        review = _Review(provider)
        review.settings = settings
        _validate_type(review)
        _validate_url(review)
        data = _validate_secret(api, review)
        _test_connection(review, data)
        _inventory_created(review, collectors)
        _ready(review)
        if not review.conditions.has_blocker():
            collectors.ensure(provider, data)
        else:
            collectors.stop(provider["metadata"]["uid"])
        _write_status(api, review)
        if review.conditions.has("ConnectionAuthFailed"):
            return None
        return LONG_REQUEUE if review.conditions.has("ConnectionTestSucceeded", "InventoryCreated") else SLOW_REQUEUE
    return reconcile_provider
