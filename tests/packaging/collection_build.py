"""What the packaging tests share: the collection as a clean clone holds it, and how to build it.

The tree is copied from the git file list of this checkout, so files lying around the working tree
(lab state, caches, build outputs) do not decide the result.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
GALAXY = os.path.join(BIN, "ansible-galaxy")


def run(args, cwd, env=None, timeout=300):
    """Run a command; fail the test with its output unless it succeeds."""
    done = subprocess.run(args, cwd=cwd, env=env or dict(os.environ), capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, "{0}\n{1}{2}".format(" ".join(args), done.stdout, done.stderr)
    return done


def git_files():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        pytest.fail("the packaging tests need the git checkout: " + listed.stderr.strip())
    return [path for path in listed.stdout.split("\0") if path and os.path.exists(os.path.join(REPO, path))]


def copy_checkout(target, copy=shutil.copy2):
    for path in git_files():
        dest = os.path.join(str(target), path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        copy(os.path.join(REPO, path), dest)
    return target


def galaxy_metadata():
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def build(source, out, collections_path):
    """``ansible-galaxy collection build`` of ``source`` into ``out``; the tarball's path."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_path))
    run([GALAXY, "collection", "build", "--output-path", str(out), str(source)], str(out), env)
    (tarball,) = out.glob("ontap-virtualization-*.tar.gz")
    return tarball


def members(tarball):
    """Each member of a tarball as (name, type, mode, sha256 of its content)."""
    rows = []
    with tarfile.open(str(tarball)) as archive:
        for member in archive.getmembers():
            digest = ""
            if member.isfile():
                digest = hashlib.sha256(archive.extractfile(member).read()).hexdigest()
            rows.append((member.name, member.type, member.mode, digest))
    return rows
