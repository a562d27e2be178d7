"""Fixtures for the ONTAP stand-in's tests: a freshly seeded stand-in per test module."""

import pytest
from ontap_clients import Rest

from lab.ontap import running


def pytest_configure(config):
    # netapp-ontap's generated models trip a marshmallow deprecation warning as they load.
    config.addinivalue_line("filterwarnings", "ignore:`Number` field should not be instantiated")


@pytest.fixture(scope="module")
def ontap():
    """The stand-in shared by one module's tests; each test uses names of its own."""
    with running() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def admin(ontap) -> Rest:
    return Rest(ontap)
