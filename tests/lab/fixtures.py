"""Fixtures for tests against the lab: one lab per session, clients, namespaces.

Shared by the lab's own tests (tests/lab/tests) and the collection's (tests/integration):
each conftest.py imports them by name. The lab itself never imports this module.

LAB_REUSE=1 uses the lab already running in $LAB_STATE_DIR (e.g. from `make lab-up`), or
starts one, and leaves it running. Any API server warning about an unknown or duplicate
field fails the test that caused it, unless the test takes it with `api_warnings.take()`.
"""

import os
import re
import uuid

import pytest
from kubernetes import client, dynamic
from kubernetes.client.exceptions import ApiException

import lab as lab_package
from lab import kubeconfig

_FIELD_WARNING = re.compile(r"unknown field|duplicate field", re.IGNORECASE)
_WARNING_HEADER = re.compile(r'^\d{3} \S+ "(?P<text>(?:[^"\\]|\\.)*)"')


class ApiWarnings:
    """Warning headers of API responses, collected from every client the fixtures make."""

    def __init__(self):
        self._seen = []

    def record(self, headers) -> None:
        for value in headers.getlist("Warning"):
            match = _WARNING_HEADER.match(value)
            self._seen.append(match["text"].replace('\\"', '"') if match else value)

    def take(self) -> list:
        """Return and forget what was seen (for tests that provoke warnings on purpose)."""
        seen, self._seen = self._seen, []
        return seen

    def watch(self, api: client.ApiClient) -> client.ApiClient:
        request = api.rest_client.request

        def recording_request(*args, **kwargs):
            response = request(*args, **kwargs)
            self.record(response.headers)
            return response

        api.rest_client.request = recording_request
        return api


_warnings = ApiWarnings()


@pytest.fixture(autouse=True)
def api_warnings():
    _warnings.take()
    yield _warnings
    field_warnings = [w for w in _warnings.take() if _FIELD_WARNING.search(w)]
    if field_warnings:
        pytest.fail("the API server warned about fields: " + "; ".join(field_warnings))


@pytest.fixture(scope="session")
def lab():
    reuse = os.environ.get("LAB_REUSE") == "1"
    instance = lab_package.start(reuse=reuse)
    yield instance
    if not reuse:
        lab_package.stop(instance.state_dir)


@pytest.fixture(scope="session")
def api_client(lab):
    with _warnings.watch(kubeconfig.api_client(lab.kubeconfig)) as api:
        yield api


@pytest.fixture(scope="session")
def core_v1(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def custom_objects(api_client):
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def dynamic_client(api_client):
    return dynamic.DynamicClient(api_client)


@pytest.fixture
def user_client(lab):
    """make(user, groups=()) -> ApiClient of a client-cert user with no RBAC grants."""
    made = []

    def make(user: str, groups=()):
        api = _warnings.watch(kubeconfig.api_client(lab.user_kubeconfig(user, groups)))
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


@pytest.fixture
def namespace(core_v1):
    name = f"test-{uuid.uuid4().hex[:8]}"
    core_v1.create_namespace({"metadata": {"name": name}})
    yield name
    try:
        core_v1.delete_namespace(name)
    except ApiException as error:
        if error.status != 404:
            raise
