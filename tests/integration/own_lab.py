"""A lab of one test file's own, beside the session's: for files whose runs change what the shared lab's other
files rely on (vCenter's source VMs migrated and powered off, a cluster built from scratch).

In the file: ``lab, api_client, core_v1, custom_objects, dynamic_client, ansible, audit = own_lab("name")``;
pytest then takes these module-scoped fixtures instead of the session's.
"""

from pathlib import Path

import pytest
from kubernetes import client, dynamic

import lab as lab_package
from lab import kubeconfig, paths

from conftest import Audit, ansible_runner


def own_lab(suffix, environ=None):
    """``environ``: variables the lab is started with (for example its vcsim scale mode), set only while it starts."""
    @pytest.fixture(scope="module")
    def lab():
        with pytest.MonkeyPatch.context() as patch:
            for name, value in (environ or {}).items():
                patch.setenv(name, value)
            instance = lab_package.start(state_dir=Path("{0}-{1}".format(paths.state_dir(), suffix)))
        yield instance
        lab_package.stop(instance.state_dir)

    @pytest.fixture(scope="module")
    def api_client(lab):
        with kubeconfig.api_client(lab.kubeconfig) as api:
            yield api

    @pytest.fixture(scope="module")
    def core_v1(api_client):
        return client.CoreV1Api(api_client)

    @pytest.fixture(scope="module")
    def custom_objects(api_client):
        return client.CustomObjectsApi(api_client)

    @pytest.fixture(scope="module")
    def dynamic_client(api_client):
        return dynamic.DynamicClient(api_client)

    @pytest.fixture(scope="module")
    def ansible(lab, tmp_path_factory):
        return ansible_runner(lab, tmp_path_factory.mktemp("playbooks-" + suffix))

    @pytest.fixture(scope="module")
    def audit(lab):
        return Audit(Path(lab.audit_log))

    return lab, api_client, core_v1, custom_objects, dynamic_client, ansible, audit
