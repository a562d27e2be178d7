"""What the benchmarks share: running a playbook (a path, or its text) against their lab, timed."""

import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def bench_lab():
    """A lab of the benchmark's own, stopped at the end; with LAB_REUSE=1 the one in $LAB_STATE_DIR, left running.
    The collection is linked into build/collections first, as `make collection` does."""
    import lab as lab_package
    link = REPO / "build" / "collections" / "ansible_collections" / "ontap" / "virtualization"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    reuse = os.environ.get("LAB_REUSE") == "1"
    lab = lab_package.start(reuse=reuse)
    try:
        yield lab
    finally:
        if not reuse:
            lab_package.stop(lab.state_dir)


def _run(lab, text_or_path, extra, wrapper=()):
    env = dict(os.environ, LAB_STATE_DIR=str(lab.state_dir), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH="{0}:{1}".format(REPO / "build" / "collections",
                                                         next(p for p in sys.path if p.endswith("site-packages"))))
    path = text_or_path
    if "\n" in text_or_path:
        handle = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False)
        handle.write(text_or_path)
        handle.close()
        path = handle.name
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(REPO / "inventories" / "lab"), path,
               "-e", json.dumps(extra)]
    started = time.monotonic()
    done = subprocess.run(list(wrapper) + command, cwd=REPO, env=env, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def playbook(lab, text_or_path, **extra):
    """(rc, output, seconds) of ansible-playbook with the lab's inventory, Ansible's start included."""
    return _run(lab, text_or_path, extra)


# Runs a command and prints, last, the peak resident memory of the largest process it started (Linux: KiB).
PEAK = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
        "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)")


def peak_memory(lab, text_or_path, **extra):
    """(rc, output, MiB): the peak resident memory of the largest process of an ansible-playbook run (Ansible
    itself, a fork, or the module's own Python)."""
    rc, output, _seconds = _run(lab, text_or_path, extra, wrapper=(sys.executable, "-c", PEAK))
    kib = int(output.rsplit("PEAK_RSS_KIB", 1)[1].split()[0])
    return rc, output, kib / 1024.0


def must(result, what):
    rc, output, _seconds = result
    if rc != 0:
        sys.exit("{0} failed:\n{1}".format(what, output[-4000:]))
    return result
