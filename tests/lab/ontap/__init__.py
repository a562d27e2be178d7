"""An ONTAP REST API stand-in for the lab: HTTPS on loopback, state on disk.

    with running() as endpoint:                 # in-process, temp state dir, free port
        HostConnection(endpoint["hostname"] + ":" + str(endpoint["http_port"]), ...)

`endpoint` is what the server writes to <state dir>/endpoint.json (see server.OntapServer.describe).
From a shell: python -m lab.ontap serve --state-dir DIR --listen 127.0.0.1:PORT
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .server import ENDPOINT_FILE, OntapServer

__all__ = ["OntapServer", "running"]

_START_TIMEOUT = 60.0


@contextlib.contextmanager
def running(state_dir=None, *, in_subprocess: bool = False, listen: str = "127.0.0.1:0"):
    """A stand-in for the length of a with-block; yields its endpoint description.

    Without a state_dir, a temporary one is used and removed afterwards. in_subprocess runs
    the CLI (`python -m lab.ontap serve`) instead of a thread, as the lab launcher does.
    """
    with contextlib.ExitStack() as stack:
        if state_dir is None:
            state_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="ontap-lab-"))
        if in_subprocess:
            yield stack.enter_context(_subprocess(Path(state_dir), listen))
        else:
            server = OntapServer(state_dir, listen)
            endpoint = server.start()
            stack.callback(server.stop)
            yield endpoint


@contextlib.contextmanager
def _subprocess(state_dir: Path, listen: str):
    endpoint_file = state_dir / ENDPOINT_FILE
    endpoint_file.unlink(missing_ok=True)
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    process = subprocess.Popen([sys.executable, "-m", "lab.ontap", "serve", "--state-dir", str(state_dir),
                                "--listen", listen], env=env)
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not endpoint_file.exists():
            if process.poll() is not None:
                raise RuntimeError(f"ONTAP stand-in exited with {process.returncode} before listening")
            if time.monotonic() > deadline:
                raise TimeoutError(f"ONTAP stand-in did not write {endpoint_file} in {_START_TIMEOUT:.0f}s")
            time.sleep(0.05)
        yield json.loads(endpoint_file.read_text())
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
