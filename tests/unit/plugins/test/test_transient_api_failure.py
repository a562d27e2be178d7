import pytest

from ansible_collections.ontap.virtualization.plugins.test import transient_api_failure as plugin
from ansible_collections.ontap.virtualization.plugins.test.transient_api_failure import transient_api_failure

# Messages as kubernetes.core and kubevirt.core fail with them (kubernetes.core plugins/module_utils/k8s/runner.py
# run_module: msg=to_native(e), reason=e.__cause__.reason; service.py find: "Exception '{e}' raised while ...").
K8S_INFO_503 = ("Exception '503\nReason: Service Unavailable\nHTTP response headers: HTTPHeaderDict({})\n"
                "HTTP response body: {\"kind\": \"Status\", \"code\": 503}' raised while trying to get resource")
CREATE_429_FROM_API_SERVER = "Failed to create object: b'{\"kind\":\"Status\",\"status\":\"Failure\",\"code\":429}'"


@pytest.mark.parametrize("result", [
    {"failed": True, "msg": K8S_INFO_503},
    {"failed": True, "msg": CREATE_429_FROM_API_SERVER},
    {"failed": True, "msg": "Failed to patch object", "reason": "Internal Server Error"},
    {"failed": True, "msg": "(504)\nReason: Gateway Timeout\n"},
    {"failed": True, "msg": "('Connection aborted.', RemoteDisconnected('Remote end closed connection'))"},
    {"failed": True, "msg": "Failed to get object", "status": 502},
])
def test_throttling_server_errors_and_dropped_connections_are_transient(result):
    assert transient_api_failure(result)


@pytest.mark.parametrize("result", [
    {"changed": False, "resources": []},
    {"failed": False, "msg": K8S_INFO_503},
    {"failed": True, "msg": "(403)\nReason: Forbidden\nHTTP response body: {\"code\":403}", "reason": "Forbidden"},
    {"failed": True, "msg": "Failed to create object: b'{\"kind\":\"Status\",\"code\":409}'", "reason": "Conflict"},
    {"failed": True, "msg": "VM disk vm-5030-root is not Bound"},
    {"failed": True, "msg": "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"},
    "not a result",
])
def test_anything_else_is_final(result):
    assert not transient_api_failure(result)


def test_the_test_is_registered_under_its_name():
    assert plugin.TestModule().tests() == {"transient_api_failure": transient_api_failure}
