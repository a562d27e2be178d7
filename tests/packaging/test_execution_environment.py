"""The execution environment: `ansible-builder create` gives a build context holding this collection (the
built tarball, with the collections it depends on as galaxy.yml names them), its Python requirements and its
bindep.txt; where a container engine runs, the image is built and runs ansible-playbook."""

import importlib.metadata
import json
import os
import shutil
import subprocess
import tarfile

import pytest
import yaml

from collection_build import BIN, GALAXY, REPO, galaxy_metadata, run

EE_FILES = ("execution-environment.yml", "requirements.txt", "bindep.txt")
TAG = "localhost/ontap-virtualization-ee:test"


def _read(*parts):
    with open(os.path.join(*parts), encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def ee_definition():
    return yaml.safe_load(_read(REPO, "execution-environment.yml"))


@pytest.fixture(scope="module")
def context(tarball, tmp_path_factory, ee_definition):
    """The build context, made as `make ee-context` makes it: the tarball where the definition takes it."""
    work = tmp_path_factory.mktemp("ee")
    for name in EE_FILES:
        shutil.copy(os.path.join(REPO, name), work / name)
    (source,) = [entry["src"] for entry in ee_definition["additional_build_files"] if entry["src"].endswith(".tar.gz")]
    os.makedirs(os.path.dirname(work / source), exist_ok=True)
    shutil.copy(str(tarball), str(work / source))
    run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context",
         "--output-filename", "Containerfile"], str(work))
    return work / "context"


def _manifest(tarball):
    with tarfile.open(str(tarball)) as archive:
        return json.load(archive.extractfile("MANIFEST.json")), archive.getnames()


def test_the_context_installs_this_collection_and_its_galaxy_dependencies(context):
    requirements = yaml.safe_load(_read(str(context), "_build", "requirements.yml"))
    (collection,) = requirements["collections"]
    assert collection["type"] == "file"
    # The galaxy stage runs ansible-galaxy in the folder the context's _build becomes.
    manifest, names = _manifest(context / "_build" / collection["name"])
    info, galaxy = manifest["collection_info"], galaxy_metadata()
    identity = ("namespace", "name", "version")
    assert [info[key] for key in identity] == [galaxy[key] for key in identity]
    assert info["dependencies"] == galaxy["dependencies"] and info["dependencies"]
    assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt"} <= set(names)


def test_the_context_holds_the_python_requirements_and_bindep(context):
    for name in ("requirements.txt", "bindep.txt"):
        assert _read(str(context), "_build", name) == _read(REPO, name)
    containerfile = _read(str(context), "Containerfile")
    assert "--user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile
    # ansible-core in the image is the one requirements.txt's `ansible` brings (installed here from the same pins).
    assert "ansible-core=={0}".format(importlib.metadata.version("ansible-core")) in containerfile


def test_the_collection_declares_its_requirements_to_other_execution_environments(context, tmp_path):
    """ansible-builder's own introspection (the script the context carries) reads the installed collection's
    meta/execution-environment.yml: another execution environment that includes the collection gets its
    Python requirements and system packages without naming them."""
    target = tmp_path / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(target))
    run([GALAXY, "collection", "install", "--offline", "--no-deps", "-p", str(target),
         str(context / "_build" / "collections" / "ontap-virtualization.tar.gz")], str(tmp_path), env)
    pip, bindep = tmp_path / "pip.txt", tmp_path / "bindep.txt"
    run([os.path.join(BIN, "python"), str(context / "_build" / "scripts" / "introspect.py"), "introspect",
         str(target), "--write-pip", str(pip), "--write-bindep", str(bindep)], str(tmp_path))

    def declared(name):
        lines = [line.split("#")[0].strip() for line in _read(REPO, name).splitlines()]
        return {line for line in lines if line}

    # ansible-builder drops `ansible` itself from a collection's requirements (its EXCLUDE_REQUIREMENTS).
    wanted_pip = {line for line in declared("requirements.txt") if not line.startswith("ansible==")}
    suffix = "  # from collection ontap.virtualization"
    assert {line[:-len(suffix)] for line in pip.read_text().splitlines() if line.endswith(suffix)} == wanted_pip
    assert {line[:-len(suffix)] for line in bindep.read_text().splitlines() if line.endswith(suffix)} == \
        declared("bindep.txt")


def _container_engine():
    """The first of podman and docker that is on PATH and answers; else why none can build."""
    reasons = []
    for engine in ("podman", "docker"):
        path = shutil.which(engine)
        if not path:
            reasons.append("{0} is not on PATH".format(engine))
            continue
        done = subprocess.run([path, "info"], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode == 0:
            return engine, None
        said = (done.stderr or done.stdout).strip().splitlines()
        reasons.append("{0} is on PATH but `{0} info` fails ({1})".format(engine, said[-1] if said else "no output"))
    return None, "; ".join(reasons)


@pytest.mark.timeout(3600)
def test_the_image_builds_and_runs_ansible_playbook(context):
    engine, why_not = _container_engine()
    if engine is None:
        pytest.skip("no container engine to build the execution environment image: " + why_not)
    run([os.path.join(BIN, "ansible-builder"), "build", "-f", "execution-environment.yml", "-c", "context",
         "-t", TAG, "--container-runtime", engine], str(context.parent), timeout=3500)
    done = run([engine, "run", "--rm", TAG, "ansible-playbook", "--version"], str(context.parent), timeout=300)
    assert "core {0}".format(importlib.metadata.version("ansible-core")) in done.stdout, done.stdout
