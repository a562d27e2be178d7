import pytest
import urllib3
from ansible.errors import AnsibleFilterError
from ansible_collections.netapp.ontap.plugins.module_utils.netapp import OntapRestAPI
from ansible_collections.ontap.virtualization.plugins.filter.ontap_connection import FilterModule, ontap_connection


@pytest.mark.parametrize("lif,hostname,port", [
    ("10.0.0.5", "10.0.0.5", None),
    ("10.0.0.5:8443", "10.0.0.5", 8443),
    ("cluster1.example.com", "cluster1.example.com", None),
    ("cluster1.example.com:443", "cluster1.example.com", 443),
    ("[fd00::1]", "[fd00::1]", None),
    ("[fd00::1]:8443", "[fd00::1]", 8443),
    ("[fe80::1%eth0]:443", "[fe80::1%eth0]", 443),
])
def test_accepted_forms(lif, hostname, port):
    found = ontap_connection(lif, "vsadmin", "secret", False)
    expected = {"hostname": hostname, "username": "vsadmin", "password": "secret", "https": True,
                "validate_certs": False, "use_rest": "always"}
    if port is not None:
        expected["http_port"] = port
    assert found == expected


def test_no_port_leaves_http_port_to_the_modules_default():
    assert "http_port" not in ontap_connection("10.0.0.5")


def test_account_left_out_when_not_given():
    assert ontap_connection("10.0.0.5") == {"hostname": "10.0.0.5", "https": True, "validate_certs": True,
                                            "use_rest": "always"}


@pytest.mark.parametrize("lif,host,port", [("[fd00::1]:8443", "[fd00::1]", 8443), ("[fd00::1]", "[fd00::1]", None),
                                           ("10.0.0.5:8443", "10.0.0.5", 8443)])
def test_netapp_ontap_builds_a_url_it_can_request(lif, host, port):
    """netapp.ontap puts hostname into https://<hostname>:<port>/api/ as it is: an IPv6 address needs its brackets."""
    options = ontap_connection(lif, "vsadmin", "secret", True)

    class Module:
        params = dict(options, http_port=options.get("http_port"), feature_flags={}, cert_filepath=None,
                      key_filepath=None)
        _name = "na_ontap_rest_info"

        def fail_json(self, **kwargs):
            raise AssertionError(kwargs)

    url = urllib3.util.parse_url(OntapRestAPI(Module()).url)
    assert (url.scheme, url.host, url.port, url.path) == ("https", host, port, "/api/")


@pytest.mark.parametrize("lif,message", [
    ("fd00::1", "The ONTAP management LIF 'fd00::1' is an IPv6 address without brackets, where a port cannot be told "
                "apart from the address: write [fd00::1], or [fd00::1]:<port> for a port other than 443."),
    ("https://10.0.0.5", "The ONTAP management LIF 'https://10.0.0.5' is a URL: give only the address, with the port "
                         "when it is not 443, as host, host:port, [IPv6 address] or [IPv6 address]:port, for example "
                         "10.0.0.5, 10.0.0.5:8443 or [fd00::5]."),
    ("https://[fd00::1]:8443/api", "is a URL: give only the address"),
    ("10.0.0.5/api", "The ONTAP management LIF '10.0.0.5/api' is not an address the netapp.ontap modules can use: "
                     "give host, host:port,"),
    ("10.0.0.5:https", "The port of the ONTAP management LIF '10.0.0.5:https' must be a number from 1 to 65535, "
                       "not 'https'."),
    ("10.0.0.5:0", "must be a number from 1 to 65535, not '0'."),
    ("10.0.0.5:70000", "must be a number from 1 to 65535, not '70000'."),
    ("10.0.0.5:", "must be a number from 1 to 65535, not ''."),
    ("[fd00::1]:", "must be a number from 1 to 65535, not ''."),
    ("[10.0.0.5]:443", "has brackets around '10.0.0.5', which is not an IPv6 address"),
    ("[fd00::1", "is not an address the netapp.ontap modules can use"),
    ("admin@10.0.0.5", "is not an address the netapp.ontap modules can use"),
    ("10.0.0.5 ", "is not an address the netapp.ontap modules can use"),
    ("", "The ONTAP management LIF is empty or not a string"),
    (None, "The ONTAP management LIF is empty or not a string (None)"),
])
def test_refused_forms_name_the_form_to_use(lif, message):
    with pytest.raises(AnsibleFilterError) as refused:
        ontap_connection(lif, "vsadmin", "secret")
    assert message in str(refused.value)
    assert str(refused.value).endswith(".")
    assert "secret" not in str(refused.value)


def test_registered_as_a_filter():
    assert FilterModule().filters()["ontap_connection"] is ontap_connection
