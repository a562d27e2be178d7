"""The stand-in's state: ONTAP objects as wire-shaped JSON records, kept in one file.

Every request runs under one lock, so handlers see and leave a consistent state. A write runs
in a transaction: on any exception the state is restored, otherwise it is saved atomically
(temp file, fsync, rename) before the response goes out, so what a client was told happened
survives a restart.
"""

import contextlib
import copy
import json
import os
import threading
import uuid
from pathlib import Path

STATE_FILE = "state.json"
_FORMAT = 1


class Store:
    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / STATE_FILE
        self.lock = threading.RLock()
        self.data: dict = {}
        if self.path.exists():
            self.data = json.loads(self.path.read_text())
            if self.data.get("format") != _FORMAT:
                raise RuntimeError(f"{self.path}: unknown state format {self.data.get('format')!r}")

    @property
    def empty(self) -> bool:
        return not self.data

    def reset(self, data: dict) -> None:
        """Start over from `data`, in memory until the next save."""
        with self.lock:
            self.data = {"format": _FORMAT, **data}

    def table(self, name: str) -> list:
        return self.data["tables"].setdefault(name, [])

    @property
    def secrets(self) -> dict:
        """Password hashes by account ("<owner uuid>/<name>"); never part of a record."""
        return self.data["secrets"]

    @property
    def meta(self) -> dict:
        return self.data["meta"]

    def new_uuid(self) -> str:
        # ONTAP's UUIDs are time-based with the node's MAC; so are the lab's.
        return str(uuid.uuid1(node=self.meta["mac"]))

    @contextlib.contextmanager
    def savepoint(self):
        """Undo every change made inside the block if it raises."""
        with self.lock:
            saved = copy.deepcopy(self.data)
            try:
                yield
            except BaseException:
                self.data = saved
                raise

    @contextlib.contextmanager
    def transaction(self):
        with self.savepoint():
            yield
            self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
