"""A vCenter that accepts the connection and never answers fails the assessment within vcenter.timeout, with what
to change, instead of leaving the task hanging (the server here listens on 127.0.0.1 and never reads)."""

import socket
import time

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import assessment
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError


@pytest.fixture
def silent_server():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


def test_a_vcenter_that_never_answers_fails_within_the_timeout(silent_server):
    params = {"vcenter": {"hostname": "127.0.0.1", "port": silent_server, "username": "reader", "password": "secret",
                          "validate_certs": False, "ca_path": None, "ca_cert": None, "timeout": 1},
              "page_size": 500, "select": {}}
    started = time.monotonic()
    with pytest.raises(ModuleError) as error:
        assessment.read_vcenter(params)
    assert time.monotonic() - started < 15
    assert "vcenter.timeout" in str(error.value) and "127.0.0.1:{0}".format(silent_server) in str(error.value)
    assert "secret" not in str(error.value)
