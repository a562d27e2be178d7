"""TLS is verified by default, and an endpoint whose certificate the trusted CA did not sign is refused with a
message that names the endpoint and what to do, before anything is written: the Kubernetes API server (a kubeconfig
with another CA), ONTAP (the netapp.ontap client verifies with the host's CA bundle: REQUESTS_CA_BUNDLE here), and
vCenter (migration_assessment's vcenter.ca_path, mtv_provider's vcenter_ca_cert). The same calls with the lab's
CA pass, so a refusal is the certificate's doing.
"""

import base64
import datetime
import json

import pytest
import yaml

PLAY = """
- hosts: openshift
  gather_facts: false
  module_defaults:
    group/ontap.virtualization.virtualization:
      kubeconfig: "{{{{ k8s_kubeconfig | default(omit) }}}}"
  tasks:
    - {module}: {args}
"""


def play(module, args):
    return PLAY.format(module="ontap.virtualization." + module, args=json.dumps(args))


@pytest.fixture(scope="module")
def foreign_ca(tmp_path_factory):
    """A CA that signed nothing of the lab's, as a PEM file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the lab's CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = tmp_path_factory.mktemp("foreign-ca") / "ca.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def kubeconfig_trusting(lab, tmp_path, ca_pem):
    """The lab's kubeconfig with ``ca_pem`` (None: no CA, so the system's) as the API server's CA."""
    config = yaml.safe_load(open(lab.kubeconfig))
    for cluster in config["clusters"]:
        cluster["cluster"].pop("certificate-authority", None)
        cluster["cluster"].pop("certificate-authority-data", None)
        if ca_pem:
            cluster["cluster"]["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path), config["clusters"][0]["cluster"]["server"]


def ontap_args(lab):
    ontap = lab.vars["ontap"]
    return {"management_lif": ontap["management_lif"], "username": ontap["cluster_admin"]["username"],
            "password": ontap["cluster_admin"]["password"]}


@pytest.mark.parametrize("trust", ["another CA", "no CA (the system's)"])
def test_an_api_server_the_ca_did_not_sign_is_refused_naming_it(ansible, lab, tmp_path, foreign_ca, audit, trust):
    kubeconfig, server = kubeconfig_trusting(lab, tmp_path, foreign_ca.read_bytes() if trust == "another CA" else None)
    mark = audit.mark()
    run = ansible(play("storageclass", {"kubeconfig": kubeconfig, "name": "tls-refused", "backend_type": "ontap-nas"}))
    assert run.rc != 0, run.output[-3000:]
    assert "TLS verification of the Kubernetes API at {0} failed".format(server) in run.output, run.output[-3000:]
    assert "Give the cluster's CA" in run.output
    assert audit.writes_since(mark) == []

    trusted, _ = kubeconfig_trusting(lab, tmp_path, open(lab.vars["ca_cert"], "rb").read())
    assert ansible(play("platform_info", {"kubeconfig": trusted})).rc == 0


def test_ontap_behind_a_ca_the_host_does_not_trust_is_refused_naming_it(ansible, lab, foreign_ca, audit):
    """migration_assessment checks the SVM's room through the netapp.ontap REST client, which verifies with the
    host's CA bundle by default (validate_certs defaults to true)."""
    args = {"vcenter": lab.vcenter(), "select": {"names": ["rhel9-web"]},
            "ontap": ontap_args(lab)}
    mark = audit.mark()
    run = ansible(play("migration_assessment", args), environ={"REQUESTS_CA_BUNDLE": str(foreign_ca)})
    assert run.rc != 0, run.output[-3000:]
    assert "ONTAP's certificate at {0} is not trusted".format(lab.vars["ontap"]["management_lif"]) in run.output, \
        run.output[-3000:]
    assert "REQUESTS_CA_BUNDLE" in run.output and lab.vars["ontap"]["cluster_admin"]["password"] not in run.output
    assert audit.writes_since(mark) == []

    trusted = ansible(play("migration_assessment", args), environ={"REQUESTS_CA_BUNDLE": lab.vars["ca_cert"]})
    assert trusted.rc == 0, trusted.output[-3000:]


def test_the_prerequisites_role_says_how_to_trust_ontap(ansible, lab, foreign_ca, audit):
    """The role reads ONTAP with the netapp.ontap modules (validate_certs from prerequisites_ontap_validate_certs,
    true by default; the lab's inventory turns it off, as it gives no CA bundle)."""
    verify = {"prerequisites_ontap_validate_certs": True}
    mark = audit.mark()
    run = ansible("playbooks/prerequisites.yml", extra_vars=verify, check=True,
                  environ={"REQUESTS_CA_BUNDLE": str(foreign_ca)})
    assert run.rc != 0, run.output[-3000:]
    assert "Could not read ONTAP at {0}".format(lab.vars["ontap"]["management_lif"]) in run.output
    assert "ONTAP's certificate is not trusted on the host that runs the playbook" in run.output, run.output[-3000:]
    assert audit.writes_since(mark) == []

    trusted = ansible("playbooks/prerequisites.yml", extra_vars=verify, check=True,
                      environ={"REQUESTS_CA_BUNDLE": lab.vars["ca_cert"]})
    assert "CERTIFICATE_VERIFY_FAILED" not in trusted.output, trusted.output[-3000:]


def test_a_vcenter_the_ca_did_not_sign_is_refused_naming_it(ansible, lab, foreign_ca, audit, custom_objects):
    mark = audit.mark()
    run = ansible(play("migration_assessment", {"vcenter": lab.vcenter(foreign_ca),
                                                "select": {"names": ["rhel9-web"]}}))
    assert run.rc != 0, run.output[-3000:]
    assert "Could not log in to vCenter {0}:{1}".format(lab.vars["vcsim_host"], lab.vars["vcsim_port"]) in run.output
    assert "CERTIFICATE_VERIFY_FAILED" in run.output and "vcenter.ca_path" in run.output, run.output[-3000:]

    provider = ansible(play("mtv_provider", {
        "name": "tls-refused", "namespace": "default", "url": lab.vars["vcsim_url"],
        "vcenter_username": lab.vars["vcsim_username"], "vcenter_password": lab.vars["vcsim_password"],
        "vcenter_ca_cert": foreign_ca.read_text()}))
    assert provider.rc != 0, provider.output[-3000:]
    assert "vCenter at {0}:{1} presents a certificate that vcenter_ca_cert does not verify".format(
        lab.vars["vcsim_host"], lab.vars["vcsim_port"]) in provider.output, provider.output[-3000:]
    assert lab.vars["vcsim_password"] not in run.output + provider.output
    assert audit.writes_since(mark) == []
    # With the lab's CA the certificate passes and the module goes on: it creates the Provider where MTV runs (an
    # earlier file may have installed it in this lab), or stops at its next check where MTV is not installed.
    trusted = ansible(play("mtv_provider", {
        "name": "tls-refused", "namespace": "default", "url": lab.vars["vcsim_url"],
        "vcenter_username": lab.vars["vcsim_username"], "vcenter_password": lab.vars["vcsim_password"],
        "vcenter_ca_cert": open(lab.vars["ca_cert"]).read()}))
    try:
        assert "does not verify" not in trusted.output, trusted.output[-3000:]
        assert trusted.rc == 0 or "MTV is not installed" in trusted.output, trusted.output[-3000:]
    finally:
        if trusted.rc == 0:
            custom_objects.delete_namespaced_custom_object("forklift.konveyor.io", "v1beta1", "default", "providers",
                                                           "tls-refused")
