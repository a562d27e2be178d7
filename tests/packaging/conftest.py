"""Fixtures of the packaging tests: an empty collections path and the collection's tarball, built once."""

import pytest

from collection_build import build, copy_checkout


@pytest.fixture(scope="session")
def empty_collections(tmp_path_factory):
    """A collections path with nothing in it: no installed copy of this collection can answer instead."""
    return tmp_path_factory.mktemp("empty-collections")


@pytest.fixture(scope="session")
def tarball(tmp_path_factory, empty_collections):
    source = copy_checkout(tmp_path_factory.mktemp("source"))
    return build(source, tmp_path_factory.mktemp("out"), empty_collections)
