"""Make this checkout importable as ``ansible_collections.ontap.virtualization``.

The collections we build on (kubernetes.core, ...) come from the ``ansible``
package in site-packages; ``ansible_collections`` is a namespace package, so a
second root holding a link to this checkout joins it.
"""

import os
import sys

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

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    for key in list(os.environ):
        if key.startswith("K8S_AUTH_"):
            monkeypatch.delenv(key)
    client = get_api_client(host=apiserver.url, api_key="unit-test-token", validate_certs=False)
    return Kube(client, retry_seconds=5)
