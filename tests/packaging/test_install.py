"""The built collection installs into an empty path and ships only the collection; the README's install
command installs the built tarball, also when run from this checkout (whose ansible.cfg points Ansible at
the checkout itself, so that a plain install answers "Nothing to do ... already installed")."""

import json
import os
import re
import shlex

import pytest

from collection_build import GALAXY, REPO, galaxy_metadata, git_files, run

NOT_SHIPPED = (
    "tests/lab/", "tests/integration/", "tests/bench/", "tests/packaging/", "tests/tooling/", "extensions/", ".ci/",
    ".venv/", ".lab/", "build/", "docs/", "awx/", "execution-environment.yml", "Makefile", "ansible.cfg",
    "requirements-test.txt",
)
# The README's block between these markers holds the install commands a user types.
README_BLOCK = re.compile(r"<!-- install-commands -->\s*```console\n(.*?)```", re.S)


@pytest.fixture(scope="module")
def installed(tarball, empty_collections, tmp_path_factory):
    target = tmp_path_factory.mktemp("installed")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(empty_collections))
    run([GALAXY, "collection", "install", "--offline", "--no-deps", "-p", str(target), str(tarball)],
        str(tarball.parent), env)
    root = target / "ansible_collections" / "ontap" / "virtualization"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return root, files


def test_the_tarball_installs_the_collection_into_an_empty_path(installed):
    root, files = installed
    shipped_plugins = sorted(p for p in git_files() if p.startswith(("plugins/", "roles/", "meta/")))
    assert shipped_plugins and set(shipped_plugins) <= set(files)
    assert "MANIFEST.json" in files and "galaxy.yml" not in files
    assert (root / "meta" / "runtime.yml").is_file()


def test_the_lab_tests_and_build_outputs_are_not_shipped(installed):
    files = installed[1]
    leaked = [f for f in files if f.startswith(NOT_SHIPPED) or f in NOT_SHIPPED]
    assert leaked == []


def readme_install_commands():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        found = README_BLOCK.search(handle.read())
    assert found, "README.md has no <!-- install-commands --> console block"
    return [shlex.split(line[2:]) for line in found.group(1).splitlines() if line.startswith("$ ")]


def test_the_readme_install_command_installs_the_tarball_from_the_checkout(tarball, tmp_path):
    """Run from the checkout with its ansible.cfg in force and this collection linked into
    build/collections (as `make demo` leaves it), the README's install command must install the built
    tarball into the path it names, not answer that the collection is already installed."""
    commands = readme_install_commands()
    installs = [cmd for cmd in commands if cmd[:3] == ["ansible-galaxy", "collection", "install"]]
    # `make build` writes the tarball the install names (the Makefile's TARBALL, from galaxy.yml's version).
    assert commands[0] == ["make", "build"] and len(installs) == 1, commands
    (install,) = installs
    path = install[install.index("-p") + 1]
    assert path == "~/.ansible/collections", install
    version = galaxy_metadata()["version"]
    args = [GALAXY] + [str(tmp_path) if arg == path else arg for arg in install[1:]]
    args = [str(tarball) if arg == "build/ontap-virtualization-{0}.tar.gz".format(version) else arg for arg in args]
    assert str(tarball) in args, "the README must install build/ontap-virtualization-{0}.tar.gz: {1}".format(
        version, install)
    linked = os.path.join(REPO, "build", "collections", "ansible_collections", "ontap", "virtualization")
    if not os.path.exists(linked):
        pytest.fail("run `make collection` first: the test needs the checkout linked as `make demo` leaves it")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env["PATH"] = os.path.dirname(GALAXY) + os.pathsep + env.get("PATH", "")
    done = run(args, REPO, env)
    assert "Nothing to do" not in done.stdout, done.stdout
    with open(tmp_path / "ansible_collections" / "ontap" / "virtualization" / "MANIFEST.json", encoding="utf-8") as h:
        assert json.load(h)["collection_info"]["version"] == version
