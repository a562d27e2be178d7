"""The built collection installs into an empty path and ships only the collection.

Built from the git file list of this checkout (what a clean clone holds), so files
lying around the working tree do not decide the result.
"""

import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GALAXY = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
NOT_SHIPPED = (
    "tests/lab/", "tests/integration/", "tests/bench/", "extensions/", ".ci/", ".venv/", ".lab/",
    "build/", "Makefile", "ansible.cfg", "requirements-test.txt",
)


def _run(args, cwd, collections_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path)
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _git_files():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        pytest.fail("the packaging test needs the git checkout: " + listed.stderr.strip())
    return [path for path in listed.stdout.split("\0") if path]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    source = tmp_path_factory.mktemp("source")
    for path in _git_files():
        target = source / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.join(REPO, path), target)
    out = tmp_path_factory.mktemp("out")
    empty = tmp_path_factory.mktemp("empty")
    _run([GALAXY, "collection", "build", "--output-path", str(out), str(source)], out, str(empty))
    (tarball,) = out.glob("ontap-virtualization-*.tar.gz")
    _run([GALAXY, "collection", "install", "--offline", "--no-deps", "-p", str(empty), str(tarball)],
         out, str(empty))
    root = empty / "ansible_collections" / "ontap" / "virtualization"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return root, files


def test_the_tarball_installs_the_collection_into_an_empty_path(installed):
    root, files = installed
    shipped_plugins = sorted(p for p in _git_files() if p.startswith(("plugins/", "roles/", "meta/")))
    assert shipped_plugins and set(shipped_plugins) <= set(files)
    assert "MANIFEST.json" in files and "galaxy.yml" not in files
    assert (root / "meta" / "runtime.yml").is_file()


def test_the_lab_tests_and_build_outputs_are_not_shipped(installed):
    files = installed[1]
    leaked = [f for f in files if f.startswith(NOT_SHIPPED) or f in NOT_SHIPPED]
    assert leaked == []
