"""trident_backend: the desired backend, immutable fields and the credentials Secret it owns."""

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.modules import trident_backend as tb


def params(**extra):
    values = dict((key, spec.get("default")) for key, spec in tb.ARGUMENT_SPEC.items())
    values.update(name="nas", storage_driver="ontap-nas", management_lif="10.0.0.1", svm="svm1")
    values.update(extra)
    return values


def test_desired_backend_maps_options_and_stringifies_defaults():
    backend = tb.desired_backend(params(defaults={"snapshotReserve": 10, "splitOnClone": True}), "nas-credentials")
    assert backend["spec"] == {
        "version": 1, "credentials": {"name": "nas-credentials", "type": "secret"}, "backendName": "nas",
        "storageDriverName": "ontap-nas", "managementLIF": "10.0.0.1", "svm": "svm1", "deletionPolicy": "delete",
        "defaults": {"snapshotReserve": "10", "splitOnClone": "true"}}


@pytest.mark.parametrize("config, expected", [
    ({"svm": "other"}, "config sets svm; use the option svm instead"),
    ({"credentials": {"name": "x"}}, "config must not set credentials"),
    ({"useCHAP": True, "sanType": "iscsi"}, "config sets sanType; use the option san_type instead"),
    ({"colour": "blue"}, "'colour' is not a backend key Trident knows"),
])
def test_desired_backend_refuses(config, expected):
    with pytest.raises(ModuleError) as err:
        tb.desired_backend(params(config=config), "s")
    assert expected in err.value.msg


def run_module(make_module, module_exit, **extra):
    module = make_module(tb.ARGUMENT_SPEC, {"required_if": tb.REQUIRED_IF, "required_together": tb.REQUIRED_TOGETHER},
                         **dict({"name": "nas", "storage_driver": "ontap-nas", "management_lif": "10.0.0.1",
                                 "wait": False, "check_ontap": False}, **extra))
    with pytest.raises(module_exit) as done:
        module.run(tb.run)
    return done.value


def test_an_immutable_change_is_refused_before_any_write(make_module, apiserver, module_exit):
    apiserver.group_versions["trident.netapp.io/v1"] = [{"name": "tridentbackendconfigs", "namespaced": True,
                                                         "kind": "TridentBackendConfig",
                                                         "verbs": ["get", "list", "create", "patch", "delete"]}]
    first = run_module(make_module, module_exit, username="u", password="p", svm="svm1")
    assert not first.failed and first.result["changes"] == [
        "created Secret trident/nas-credentials", "created TridentBackendConfig trident/nas"]
    posts = len(apiserver.calls("POST"))
    again = run_module(make_module, module_exit, username="u", password="p", svm="svm2")
    assert again.failed
    assert "Trident cannot change spec.svm of an existing backend (spec.svm: svm1 -> svm2)" in again.result["msg"]
    assert len(apiserver.calls("POST")) == posts and apiserver.calls("PATCH") == []


def test_username_without_password_is_refused_by_the_argument_spec(make_module):
    from ansible.module_utils.testing import patch_module_args
    with pytest.raises(SystemExit):
        with patch_module_args({"name": "nas", "storage_driver": "ontap-nas", "management_lif": "x", "username": "u"}):
            from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule
            KubeModule(tb.ARGUMENT_SPEC, required_together=tb.REQUIRED_TOGETHER)


@pytest.mark.parametrize("lif, expected", [
    ("https://10.0.0.1", "is a URL: give only the address"),
    ("fd00::1", "is an IPv6 address without brackets"),
])
def test_a_management_lif_trident_cannot_use_is_refused_before_any_call(make_module, apiserver, module_exit, lif, expected):
    outcome = run_module(make_module, module_exit, management_lif=lif, username="u", password="p")
    assert outcome.failed and expected in outcome.result["msg"]
    assert apiserver.calls("POST") == []
