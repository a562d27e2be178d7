"""`ansible-galaxy collection build` gives the same tarball contents twice in a row: the same members, modes
and file contents, from two copies of the checkout made at different times (so with other mtimes)."""

import shutil
import time

from collection_build import build, copy_checkout, members


def test_two_builds_have_the_same_members_and_contents(tarball, tmp_path, empty_collections):
    time.sleep(1.1)  # the second copy's files get other modification times than the first build's source
    source = copy_checkout(tmp_path / "source", copy=shutil.copy)
    out = tmp_path / "out"
    out.mkdir()
    second = build(source, out, empty_collections)
    first_members, second_members = members(tarball), members(second)
    assert [row[0] for row in first_members] == [row[0] for row in second_members]
    assert first_members == second_members
    assert any(name == "MANIFEST.json" for name, *_ in first_members)
