"""The inventory: one collector per Provider, reading its source into documents (model.py).

A vSphere collector logs in with the provider's Secret, reads everything once (until then it
has no parity: the provider shows LoadInventory and the web answers 206), then re-reads every
REFRESH_SECONDS (upstream follows WaitForUpdatesEx; a re-read gives the same documents). A spec
change (new generation) or a blocker replaces or stops the collector, as upstream's
updateContainer does. The `host` provider's collector has parity at once.
"""

import logging
import threading

from lab.controllers.forklift import model, vsphere
from lab.controllers.forklift.credentials import ca_cert, insecure

log = logging.getLogger("lab.controllers.forklift")
REFRESH_SECONDS = 10.0


class Collector:
    def __init__(self, provider: dict, secret_data: dict = None):
        self.provider = provider
        self.uid = provider["metadata"]["uid"]
        self.generation = provider["metadata"].get("generation")
        self._secret = secret_data or {}
        self._documents = {}
        self.about = {}
        self._parity = threading.Event()
        self._stopping = threading.Event()
        self._thread = None

    @property
    def type(self) -> str:
        return self.provider["spec"]["type"]

    def start(self) -> None:
        if self.type != "vsphere":
            self._parity.set()
            return
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"forklift-collector:{self.uid[:8]}")
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def has_parity(self) -> bool:
        return self._parity.is_set()

    def wait_parity(self, seconds: float) -> bool:
        return self._parity.wait(seconds)

    def documents(self, kind: str) -> dict:
        return self._documents.get(kind, {})

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._load()
                self._parity.set()
            except Exception as error:  # the next round tries again; the provider's test reports failures
                log.warning("forklift: inventory of provider %s not read: %s", self.uid, error)
            self._stopping.wait(REFRESH_SECONDS)

    def _load(self) -> None:
        data = self._secret
        service = vsphere.connect(self.provider["spec"]["url"], data.get("user", ""), data.get("password", ""),
                                  cadata=ca_cert(data), insecure=insecure(data))
        try:
            snapshot = vsphere.collect(service)
        finally:
            vsphere.disconnect(service)
        self.about = snapshot.about
        self._documents = model.build(snapshot)


class Collectors:
    """The running collectors, by provider UID (the inventory's provider key)."""

    def __init__(self):
        self._by_uid = {}
        self._lock = threading.Lock()

    def get(self, provider: dict):
        return self.by_uid(provider["metadata"]["uid"])

    def by_uid(self, uid: str):
        with self._lock:
            return self._by_uid.get(uid)

    def all(self) -> list:
        with self._lock:
            return list(self._by_uid.values())

    def ensure(self, provider: dict, secret_data: dict) -> Collector:
        uid = provider["metadata"]["uid"]
        with self._lock:
            current = self._by_uid.get(uid)
            if current is not None and current.generation == provider["metadata"].get("generation"):
                current.provider = provider
                return current
            if current is not None:
                current.stop()
            collector = self._by_uid[uid] = Collector(provider, secret_data)
        collector.start()
        return collector

    def stop(self, uid: str) -> None:
        with self._lock:
            collector = self._by_uid.pop(uid, None)
        if collector is not None:
            collector.stop()

    def stop_named(self, namespace: str, name: str) -> None:
        """Stop the collector of a Provider that is gone (upstream: on NotFound, by the catalog's record)."""
        for collector in self.all():
            meta = collector.provider["metadata"]
            if (meta["namespace"], meta["name"]) == (namespace, name):
                self.stop(collector.uid)


class NotFound(LookupError):
    pass


class NotUnique(LookupError):
    pass


def find(collector: Collector, kind: str, ref: dict) -> dict:
    """A document by `id`, else by `name` (the inventory client's Finder.ByRef): NotFound, NotUnique."""
    documents = collector.documents(kind)
    if ref.get("id"):
        if ref["id"] not in documents:
            raise NotFound(ref["id"])
        return documents[ref["id"]]
    matches = [doc for doc in documents.values() if doc["name"] == ref.get("name")]
    if not matches:
        raise NotFound(ref.get("name"))
    if len(matches) > 1:
        raise NotUnique(ref.get("name"))
    return matches[0]
