"""Make this checkout importable as ``ansible_collections.ontap.virtualization``.

The collections we build on (kubernetes.core, ...) come from the ``ansible``
package in site-packages; ``ansible_collections`` is a namespace package, so a
second root holding a link to this checkout joins it.
"""

import os
import sys
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROOT = os.path.join(REPO, "build", "unit-collections")
LINK = os.path.join(ROOT, "ansible_collections", "ontap", "virtualization")

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(REPO, LINK)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(__file__))


def _isolate(monkeypatch, tmp_path):
    """No K8S_AUTH_* from the environment, and kubernetes.core's discovery cache in this test's directory.

    The cache file is named after the server's address, and a fake server's port is reused by later tests:
    a shared cache would answer with another test's API groups. ``tempfile.gettempdir()`` remembers its
    first answer, so TMPDIR alone is not enough.
    """
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for key in list(os.environ):
        if key.startswith("K8S_AUTH_"):
            monkeypatch.delenv(key)


@pytest.fixture
def apiserver():
    from fake_apiserver import FakeAPIServer

    with FakeAPIServer() as server:
        yield server


@pytest.fixture
def kube(apiserver, tmp_path, monkeypatch):
    """A Kube on the fake API server, with discovery cached in a per-test directory."""
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.ontap.virtualization.plugins.module_utils.kube import Kube

    _isolate(monkeypatch, tmp_path)
    client = get_api_client(host=apiserver.url, api_key="unit-test-token", validate_certs=False)
    return Kube(client, retry_seconds=5)


@pytest.fixture
def make_module(apiserver, tmp_path, monkeypatch):
    """make_module(argument_spec, **params) -> a real KubeModule on the fake API server.

    Its fail_json and exit_json raise ``ModuleExit`` carrying the result, so a test can
    run ``module.run(action)`` and read what a playbook would see.
    """
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

    _isolate(monkeypatch, tmp_path)

    def make(argument_spec, module_options=None, check_mode=False, diff=False, **params):
        args = dict(params, host=apiserver.url, api_key="unit-test-token", validate_certs=False,
                    _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(args):
            module = KubeModule(argument_spec, **(module_options or {}))
        module.ansible.exit_json = lambda **result: _raise(ModuleExit(False, result))
        module.ansible.fail_json = lambda **result: _raise(ModuleExit(True, result))
        return module

    return make


class ModuleExit(Exception):
    def __init__(self, failed, result):
        super().__init__(result.get("msg"))
        self.failed = failed
        self.result = result


def _raise(exc):
    raise exc


@pytest.fixture
def module_exit():
    return ModuleExit
