"""vSphere Provider validation against the lab's vcsim, as pkg/controller/provider/validation.go
(v2.12.5) does it: conditions, phases, `status.fingerprint`."""

import hashlib
import json
import ssl

import pytest
from kubernetes.client.exceptions import ApiException

from mtv_helpers import PROVIDER, condition, unique


def _settled(kube, provider: dict, phase: str) -> dict:
    meta = provider["metadata"]
    return kube.wait(*PROVIDER, meta["name"], meta["namespace"],
                     lambda p: (p.get("status") or {}).get("phase") == phase, f"to be {phase}")


def _types(provider: dict) -> set:
    return {c["type"] for c in provider["status"]["conditions"]}


def test_a_provider_with_a_ca_logs_in_and_gets_the_certificates_fingerprint(kube, lab, vsphere_provider,
                                                                             good_credentials):
    """validation.go validateSecret (util.GetTlsCertificate, util.Fingerprint), testConnection,
    inventoryCreated; controller.go Reconcile sets Ready (v2.12.5)."""
    provider = _settled(kube, vsphere_provider(unique("vcenter"), good_credentials), "Ready")
    assert _types(provider) == {"ConnectionTestSucceeded", "InventoryCreated", "Validated", "Ready"}
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate((lab.vars["vcsim_host"], lab.vars["vcsim_port"])))
    expected = ":".join(f"{b:02X}" for b in hashlib.sha1(der).digest())
    assert provider["status"]["fingerprint"] == expected
    assert condition(provider, "ConnectionTestSucceeded")["message"] == "Connection test, succeeded."
    assert provider["status"]["observedGeneration"] == provider["metadata"]["generation"]


def test_a_pinned_server_certificate_is_trusted_like_a_ca(kube, lab, vsphere_provider):
    """validation.go validateTLSConnection / util.GetTlsCertificate: `ca.crt` goes into an empty x509.CertPool, and
    Go's Certificate.Verify accepts a leaf that is itself in the pool (crypto/x509 verify.go: a certificate in
    opts.Roots is a chain of its own), so the vCenter certificate pinned as `ca.crt` (what the UI stores after the
    user accepts the thumbprint) makes the provider Ready (v2.12.5)."""
    leaf = ssl.get_server_certificate((lab.vars["vcsim_host"], lab.vars["vcsim_port"]))
    data = {"user": lab.vars["vcsim_username"], "password": lab.vars["vcsim_password"], "ca.crt": leaf}
    provider = _settled(kube, vsphere_provider(unique("vcenter"), data), "Ready")
    assert _types(provider) == {"ConnectionTestSucceeded", "InventoryCreated", "Validated", "Ready"}


def test_insecure_skip_verify_is_ready_with_a_warning(kube, lab, vsphere_provider):
    """validation.go validateTLSConnection: insecureSkipVerify adds Warn ConnectionInsecure (v2.12.5)."""
    data = {"user": lab.vars["vcsim_username"], "password": lab.vars["vcsim_password"], "insecureSkipVerify": "true"}
    provider = _settled(kube, vsphere_provider(unique("vcenter"), data), "Ready")
    insecure = condition(provider, "ConnectionInsecure")
    assert (insecure["category"], insecure["reason"]) == ("Warn", "SkipTLSVerification")
    assert provider["status"]["fingerprint"]


def test_a_secret_without_ca_or_insecure_flag_is_not_valid(kube, lab, vsphere_provider):
    """validation.go validateSecret: without ca.crt (or legacy cacert) and insecureSkipVerify, `ca.crt`
    is a missing key: SecretNotValid DataErr, phase ValidationFailed (v2.12.5)."""
    data = {"user": lab.vars["vcsim_username"], "password": lab.vars["vcsim_password"]}
    provider = _settled(kube, vsphere_provider(unique("vcenter"), data), "ValidationFailed")
    refused = condition(provider, "SecretNotValid")
    assert (refused["category"], refused["reason"], refused["items"]) == ("Critical", "DataErr", ["ca.crt"])
    assert "Ready" not in _types(provider) and "ConnectionTestSucceeded" not in _types(provider)


def test_missing_user_and_password_keys_are_named(kube, lab, vsphere_provider):
    """validation.go validateSecret keyList user, password (v2.12.5); the legacy `cacert` key counts as the CA."""
    provider = _settled(kube, vsphere_provider(unique("vcenter"), {"cacert": open(lab.vars["ca_cert"]).read()}),
                        "ValidationFailed")
    assert condition(provider, "SecretNotValid")["items"] == ["user", "password"]


def test_a_missing_secret_and_an_empty_url_are_refused(kube, vsphere_provider):
    """validation.go validateSecret NotFound, validateURL NotSet (v2.12.5)."""
    provider = _settled(kube, vsphere_provider(unique("vcenter"), None, url=""), "ValidationFailed")
    assert condition(provider, "UrlNotValid")["reason"] == "NotSet"
    assert condition(provider, "SecretNotValid")["reason"] == "NotFound"


def test_a_wrong_password_stops_at_connection_auth_failed(kube, lab, vsphere_provider, good_credentials):
    """validation.go testConnection: a login refused as "incorrect user name or password" is 401 →
    Critical ConnectionAuthFailed, phase ConnectionFailed (collector.go connect, v2.12.5)."""
    provider = _settled(kube, vsphere_provider(unique("vcenter"), {**good_credentials, "password": "wrong"}),
                        "ConnectionFailed")
    failed = condition(provider, "ConnectionAuthFailed")
    assert failed["category"] == "Critical" and failed["message"].startswith("Connection auth failed, error: ")
    assert provider["status"]["fingerprint"]  # the TLS check passed before the login


def test_a_url_without_the_sdk_path_fails_the_connection_test(kube, lab, vsphere_provider, good_credentials):
    """collector.go buildClient posts SOAP to the URL as written (no /sdk added): the connection test fails,
    ConnectionTestFailed, phase ConnectionFailed (validation.go testConnection, v2.12.5)."""
    url = f"https://{lab.vars['vcsim_host']}:{lab.vars['vcsim_port']}/"
    provider = _settled(kube, vsphere_provider(unique("vcenter"), good_credentials, url=url), "ConnectionFailed")
    assert condition(provider, "ConnectionTestFailed")["message"].startswith("Connection test, failed: ")


def test_a_ca_that_did_not_sign_the_certificate_fails_the_tls_check(kube, lab, vsphere_provider, good_credentials,
                                                                     tmp_path):
    """base.VerifyTLSConnection with the Secret's CA only (v2.12.5): another CA fails the handshake,
    ConnectionTestFailed; the fingerprint is still read (util.GetTlsCertificate does not verify)."""
    from lab import pki
    other_ca = pki.CA.create(tmp_path).cert_pem.decode()  # a CA of its own, which signed nothing the lab serves
    provider = _settled(kube, vsphere_provider(unique("vcenter"), {**good_credentials, "ca.crt": other_ca}),
                        "ConnectionFailed")
    assert condition(provider, "ConnectionTestFailed")["message"].startswith("failed to create a secure TLS")
    assert provider["status"]["fingerprint"]


def test_sdk_endpoint_esxi_against_a_vcenter_fails(kube, vsphere_provider, good_credentials):
    """collector.go validateServerType (v2.12.5): sdkEndpoint esxi but the URL is a vCenter."""
    provider = _settled(kube, vsphere_provider(unique("vcenter"), good_credentials, settings={"sdkEndpoint": "esxi"}),
                        "ConnectionFailed")
    assert condition(provider, "ConnectionTestFailed")["message"] == (
        "Connection test, failed: provider sdkEndpoint is set to ESXi but the URL points to a vCenter server")


def test_a_vsphere_provider_without_sdk_endpoint_reads_back_vcenter(kube, vsphere_provider, good_credentials):
    """pkg/forklift-api/webhooks/mutating-webhook/mutators/provider-mutator.go setSdkEndpointIfNeeded (v2.12.5):
    the mutating webhook the operator registers adds settings.sdkEndpoint: vcenter."""
    provider = vsphere_provider(unique("vcenter"), good_credentials)
    assert provider["spec"]["settings"] == {"sdkEndpoint": "vcenter"}


def test_an_unknown_sdk_endpoint_is_refused(kube, vsphere_provider, good_credentials):
    """pkg/forklift-api/webhooks/validating-webhook/admitters/provider-admitter.go validateSdkEndpointType
    (v2.12.5): only vcenter and esxi; the refusal is a 400."""
    with pytest.raises(ApiException) as refused:
        vsphere_provider(unique("vcenter"), good_credentials, settings={"sdkEndpoint": "vsphere"})
    assert refused.value.status == 400
    assert "vSphere provider is set with an invalid SDK endpoint type" in json.loads(refused.value.body)["message"]
