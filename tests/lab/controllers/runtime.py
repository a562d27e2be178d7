"""The lab's controller runtime: informers on the kubernetes watch, a keyed work queue,
requeues, status patches and events — what controller-runtime gives upstream operators.

A Controller reconciles one kind. Each reconcile reads the object fresh from the API
server and works only from what the cluster holds, so the process can be killed and
restarted at any moment and picks up every in-flight object where it stood.

We use the plain watch rather than an operator framework such as kopf on purpose:
kopf records its own annotations and finalizers on every object it handles, which
no real operator does and which would show up in the objects and audit logs our
collection is tested against.

LAB_LATENCY (e.g. ``trident:3s``, see ``latency_table``) makes some controllers hear of every
change that many seconds late, so that tests can meet a status that still describes the
previous spec, as on a busy cluster.
"""

import fnmatch
import hashlib
import json
import logging
import os
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Optional

from kubernetes import dynamic
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from lab import rest

log = logging.getLogger("lab.controllers")

WORKERS_PER_CONTROLLER = 4
WATCH_SECONDS = 120
ERROR_BACKOFF = (0.2, 5.0)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def step_delay() -> float:
    """The pause between two simulated steps (LAB_STEP_DELAY seconds), so waits are real waits."""
    return float(os.environ.get("LAB_STEP_DELAY", "0.3"))


def latency_table(spec: str = None) -> list:
    """LAB_LATENCY: how late some controllers react to changes, e.g. ``trident:3s`` or
    ``trident:3s,csi-*:500ms,*:1s``: comma-separated ``controller:duration`` entries, where the
    controller is a name, a name's first part (``trident`` is trident-backend-configs and
    trident-volumes) or a glob, and the duration is in ms, s or m (plain numbers are seconds).
    The last entry that matches a controller applies. Returns [(pattern, seconds)].

    Each change reaches the controller that long after it happened; a reconcile still due from
    an earlier change runs on time, and like every reconcile it reads the object as it is then."""
    spec = os.environ.get("LAB_LATENCY", "") if spec is None else spec
    table = []
    for entry in filter(None, (part.strip() for part in spec.replace(";", ",").split(","))):
        pattern, _, duration = entry.rpartition(":")
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|m)?", duration.strip())
        if not pattern.strip() or match is None:
            raise ValueError(f"LAB_LATENCY: {entry!r} is not controller:duration (e.g. trident:3s)")
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[match[2]]
        table.append((pattern.strip(), float(match[1]) * scale))
    return table


def latency_for(name: str, table: list) -> float:
    """The latency of the controller ``name`` in a latency_table (0 when none matches)."""
    seconds = 0.0
    for pattern, delay in table:
        if name == pattern or name.startswith(pattern + "-") or fnmatch.fnmatchcase(name, pattern):
            seconds = delay
    return seconds


Key = tuple  # (namespace or None, name)

CONTINUE = object()  # what a reconcile step returns to let the next step run


def run_steps(steps, api, state):
    """A reconciler that reads as the list of its steps: each ``step(api, state)`` returns
    CONTINUE to go on, or ends the reconcile with its result (seconds until a requeue, or None)."""
    for step in steps:
        result = step(api, state)
        if result is not CONTINUE:
            return result
    return None


@dataclass(frozen=True)
class Watch:
    """A secondary kind whose changes requeue primary objects: ``map(obj) -> [Key]``."""
    api_version: str
    kind: str
    map: Callable
    namespace: Optional[str] = None


@dataclass
class Controller:
    """Reconciles ``kind``: ``reconcile(api, obj) -> Optional[float]`` (seconds until a requeue).

    Objects that are gone are not reconciled: like upstream operators, a controller
    that must clean up puts a finalizer on the object and acts on its deletionTimestamp.
    A controller that, like controller-runtime reconcilers, also acts on a NotFound
    (e.g. deletes what it derived from the object) gives ``gone(api, key)``.
    """
    name: str
    api_version: str
    kind: str
    reconcile: Callable
    namespace: Optional[str] = None
    watches: list = field(default_factory=list)
    resync_seconds: float = 60.0
    gone: Optional[Callable] = None
    workers: int = WORKERS_PER_CONTROLLER  # upstream's --worker-threads where it sets one


class Api:
    """What reconcilers use: dict in, dict out, on the dynamic client."""

    def __init__(self, client: dynamic.DynamicClient, component: str):
        self.client = client
        self.component = component
        self._resources = {}
        self._lock = threading.Lock()

    def resource(self, api_version: str, kind: str):
        key = (api_version, kind)
        with self._lock:
            if key not in self._resources:
                self._resources[key] = self.client.resources.get(api_version=api_version, kind=kind)
            return self._resources[key]

    def get(self, api_version, kind, name, namespace=None) -> Optional[dict]:
        try:
            return self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict()
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def list(self, api_version, kind, namespace=None, label_selector=None) -> list:
        result = self.resource(api_version, kind).get(namespace=namespace, label_selector=label_selector)
        return result.to_dict().get("items") or []

    def create(self, obj: dict) -> dict:
        resource = self.resource(obj["apiVersion"], obj["kind"])
        return resource.create(body=obj, namespace=obj["metadata"].get("namespace")).to_dict()

    def create_if_absent(self, obj: dict) -> Optional[dict]:
        """Create ``obj``; None when an object of that name exists already."""
        try:
            return self.create(obj)
        except ApiException as error:
            if error.status == 409:
                return None
            raise

    def ensure(self, obj: dict) -> dict:
        """Create ``obj`` unless an object of that name exists; return what the cluster holds."""
        try:
            return self.create(obj)
        except ApiException as error:
            if error.status != 409:
                raise
            return self.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))

    def patch(self, obj: dict, patch: dict, guarded: bool = False) -> dict:
        """Merge-patch ``obj``; ``guarded`` sends the resourceVersion it was read at, so a write
        computed from a stale read fails with a conflict (which the Manager retries on fresh state)."""
        resource = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        return resource.patch(body=_guard(obj, patch) if guarded else patch, name=meta["name"],
                              namespace=meta.get("namespace"), content_type="application/merge-patch+json").to_dict()

    def patch_status(self, obj: dict, status: dict, guarded: bool = False) -> dict:
        """Merge ``status`` into the object's status (through the status subresource when it has one);
        ``guarded`` as for ``patch``."""
        resource = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        target = resource.status if "status" in resource.subresources else resource
        body = {"status": status}
        return target.patch(body=_guard(obj, body) if guarded else body, name=meta["name"],
                            namespace=meta.get("namespace"), content_type="application/merge-patch+json").to_dict()

    def replace_status(self, obj: dict, status: dict) -> dict:
        """Make the status exactly ``status``: write only when it differs, and null the keys it drops
        (a merge patch alone would keep them)."""
        previous = obj.get("status") or {}
        if all(previous.get(k) == v for k, v in status.items()) and set(previous) <= set(status):
            return obj
        return self.patch_status(obj, {**{k: None for k in previous if k not in status}, **status})

    def delete(self, api_version, kind, name, namespace=None, grace_period: int = None,
               propagation: str = None) -> bool:
        """Delete (False when already gone); ``grace_period`` and ``propagation`` are DeleteOptions'."""
        options = {}
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if propagation:
            options["propagationPolicy"] = propagation
        kwargs = {"body": {"apiVersion": "v1", "kind": "DeleteOptions", **options}} if options else {}
        try:
            self.resource(api_version, kind).delete(name=name, namespace=namespace, **kwargs)
            return True
        except ApiException as error:
            if error.status == 404:
                return False
            raise

    def apply(self, plural: str, obj: dict) -> dict:
        """Server-side apply (strict field validation) as this Api's client."""
        return rest.apply(self.client.client, plural, obj)

    def remove_finalizer(self, obj: dict, finalizer: str) -> dict:
        finalizers = obj["metadata"].get("finalizers") or []
        if finalizer not in finalizers:
            return obj
        return self.patch(obj, {"metadata": {"finalizers": [f for f in finalizers if f != finalizer]}},
                          guarded=True)

    def add_finalizer(self, obj: dict, finalizer: str) -> dict:
        finalizers = obj["metadata"].get("finalizers") or []
        if finalizer in finalizers:
            return obj
        return self.patch(obj, {"metadata": {"finalizers": finalizers + [finalizer]}}, guarded=True)

    def event(self, obj: dict, event_type: str, reason: str, message: str, component: str = None) -> None:
        """Record a core/v1 Event on ``obj`` the way controllers do (repeats bump the count).

        ``component`` names the reporting controller as upstream does (default: this Api's).
        Events are best effort, as with client-go's recorder: a refused one (e.g. in a
        terminating namespace) is logged, never raised.
        """
        try:
            self._record_event(obj, event_type, reason, message, component or self.component)
        except (ApiException, dynamic.exceptions.DynamicApiError) as error:
            log.info("event %s on %s/%s not recorded: %s", reason, obj["metadata"].get("namespace"),
                     obj["metadata"]["name"], getattr(error, "reason", error))

    def _record_event(self, obj: dict, event_type: str, reason: str, message: str, component: str) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        digest = hashlib.sha256(f"{meta.get('uid')}{reason}{message}".encode()).hexdigest()[:10]
        name = f"{meta['name']}.{digest}"
        existing = self.get("v1", "Event", name, namespace)
        if existing:
            self.patch(existing, {"count": (existing.get("count") or 1) + 1, "lastTimestamp": now()})
            return
        self.create({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta.get("namespace"), "uid": meta.get("uid"),
                               "resourceVersion": meta.get("resourceVersion")},
            "type": event_type, "reason": reason, "message": message, "count": 1,
            "firstTimestamp": now(), "lastTimestamp": now(),
            "source": {"component": component}, "reportingComponent": component,
        })


def _guard(obj: dict, body: dict) -> dict:
    return {**body, "metadata": {**(body.get("metadata") or {}), "resourceVersion": obj["metadata"]["resourceVersion"]}}


def stale(error: Exception) -> bool:
    """A write lost a race: its object changed (409 Conflict) or went (404) since it was read."""
    if not isinstance(error, ApiException):  # the dynamic client's errors are ApiExceptions too
        return False
    return error.status == 404 or (error.status == 409 and _reason(error) == "Conflict")


def _status(error) -> dict:
    """The metav1.Status the API server answered with, or {}."""
    try:
        status = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


def _reason(error) -> str:
    return _status(error).get("reason") or ""


def _message(error) -> str:
    return _status(error).get("message") or getattr(error, "reason", "") or ""


class _Queue:
    """Keys waiting for a reconcile; a key is never queued twice nor worked on twice at once."""

    def __init__(self):
        self._queue = queue.Queue()
        self._pending = set()
        self._active = set()
        self._dirty = set()
        self._lock = threading.Lock()

    def add(self, key: Key) -> None:
        with self._lock:
            if key in self._active:
                self._dirty.add(key)
            elif key not in self._pending:
                self._pending.add(key)
                self._queue.put(key)

    def add_after(self, key: Key, seconds: float) -> None:
        timer = threading.Timer(seconds, self.add, (key,))
        timer.daemon = True
        timer.start()

    def take(self, timeout: float) -> Optional[Key]:
        try:
            key = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        with self._lock:
            self._pending.discard(key)
            self._active.add(key)
        return key

    def done(self, key: Key) -> None:
        with self._lock:
            self._active.discard(key)
            again = key in self._dirty
            self._dirty.discard(key)
        if again:
            self.add(key)


class _LateQueue(_Queue):
    """A queue whose keys arrive ``delay`` seconds after the change that brought them (the
    informer's add); requeues a reconcile asks for keep their own delay."""

    def __init__(self, delay: float):
        super().__init__()
        self.delay = delay

    def add(self, key: Key) -> None:
        self._later(key, self.delay)

    def add_after(self, key: Key, seconds: float) -> None:
        self._later(key, seconds)

    def done(self, key: Key) -> None:
        with self._lock:
            self._active.discard(key)
            again = key in self._dirty
            self._dirty.discard(key)
        if again:  # that change has already waited its delay
            _Queue.add(self, key)

    def _later(self, key: Key, seconds: float) -> None:
        timer = threading.Timer(seconds, _Queue.add, (self, key))
        timer.daemon = True
        timer.start()


class Manager:
    """Runs controllers: one informer thread per watched kind, a few workers per controller."""

    def __init__(self, api: Api, latency: list = None):
        self.api = api
        self.controllers = []
        self.stopping = threading.Event()
        self._unlisted = 0
        self._unlisted_lock = threading.Lock()
        # How late each controller hears of a change (LAB_LATENCY), to provoke what a busy or
        # slow operator shows: a status that still describes the previous spec.
        self.latency = latency_table() if latency is None else latency

    def _listed(self, on_synced: Callable) -> None:
        with self._unlisted_lock:
            self._unlisted -= 1
            synced = self._unlisted == 0
        if synced:
            log.info("every informer has listed once")
            on_synced()

    def add(self, controller: Controller) -> None:
        self.controllers.append(controller)

    def run(self, on_synced: Callable = lambda: None) -> None:
        """Run until stopped; `on_synced` is called once every informer has listed its kind."""
        threads = []
        for controller in self.controllers:
            delay = latency_for(controller.name, self.latency)
            work = _LateQueue(delay) if delay else _Queue()
            if delay:
                log.info("%s reacts %.1f s late (LAB_LATENCY)", controller.name, delay)
            primary = Watch(controller.api_version, controller.kind, lambda obj: [_key(obj)], controller.namespace)
            for watch in [primary] + list(controller.watches):
                self._unlisted += 1
                threads.append(threading.Thread(target=self._inform, args=(controller, watch, work, on_synced),
                                                daemon=True,
                                                name=f"{controller.name}:watch:{watch.kind}"))
            for index in range(controller.workers):
                threads.append(threading.Thread(target=self._work, args=(controller, work), daemon=True,
                                                name=f"{controller.name}:worker:{index}"))
        if not self._unlisted:
            on_synced()
        for thread in threads:
            thread.start()
        log.info("running %d controllers", len(self.controllers))
        self.stopping.wait()

    def _inform(self, controller: Controller, watch: Watch, work: _Queue, on_synced: Callable) -> None:
        """List, then watch from the list's resourceVersion; re-list on expiry or error, and resync."""
        delay = ERROR_BACKOFF[0]
        first_list = True
        while not self.stopping.is_set():
            try:
                resource = self.api.resource(watch.api_version, watch.kind)
                listed = resource.get(namespace=watch.namespace).to_dict()
                for obj in listed.get("items") or []:
                    obj.setdefault("apiVersion", watch.api_version)
                    obj.setdefault("kind", watch.kind)
                    for key in watch.map(obj):
                        work.add(key)
                if first_list:
                    first_list = False
                    self._listed(on_synced)
                version = listed["metadata"]["resourceVersion"]
                resync_at = time.monotonic() + controller.resync_seconds
                while time.monotonic() < resync_at and not self.stopping.is_set():
                    for event in resource.watch(namespace=watch.namespace, resource_version=version,
                                                timeout=WATCH_SECONDS):
                        if event["type"] == "ERROR":
                            raise ApiException(status=event["raw_object"].get("code"), reason="watch error")
                        obj = event["raw_object"]
                        version = obj["metadata"]["resourceVersion"]
                        for key in watch.map(obj):
                            work.add(key)
                        if time.monotonic() >= resync_at:
                            break
                delay = ERROR_BACKOFF[0]
            except (ApiException, HTTPError, OSError, dynamic.exceptions.DynamicApiError) as error:
                if getattr(error, "status", None) != 410:
                    log.warning("%s: watching %s failed (%s); listing again", controller.name, watch.kind, error)
                    time.sleep(delay)
                    delay = min(delay * 2, ERROR_BACKOFF[1])

    def _work(self, controller: Controller, work: _Queue) -> None:
        failures = {}
        while not self.stopping.is_set():
            key = work.take(timeout=1.0)
            if key is None:
                continue
            namespace, name = key
            try:
                obj = self.api.get(controller.api_version, controller.kind, name, namespace)
                if obj is None:  # gone: cleanup belongs in finalizers, or in the controller's gone()
                    if controller.gone is not None:
                        controller.gone(self.api, key)
                    continue
                requeue = controller.reconcile(self.api, obj)
                failures.pop(key, None)
                if requeue is not None:
                    work.add_after(key, requeue)
            except Exception as error:  # retried with back-off, as controller-runtime does
                count = failures[key] = failures.get(key, 0) + 1
                if stale(error):  # the one place a lost race is handled: reconcile again on fresh state
                    log.info("%s: %s/%s changed while reconciling (%s); again", controller.name, namespace, name,
                             getattr(error, "reason", error))
                # The API server said why: one line, as controller-runtime's reconcileHandler logs "Reconciler
                # error" with the error alone (pkg/internal/controller/controller.go). Anything else is a fault of
                # the lab's own code, logged with its traceback.
                elif isinstance(error, ApiException):
                    log.error("%s: reconcile of %s/%s failed (attempt %d): %s %s", controller.name, namespace,
                              name, count, error.status, _message(error))
                else:
                    log.exception("%s: reconcile of %s/%s failed (attempt %d)", controller.name, namespace, name,
                                  count)
                work.add_after(key, min(ERROR_BACKOFF[0] * 2 ** count, ERROR_BACKOFF[1] * 6))
            finally:
                work.done(key)


def _key(obj: dict) -> Key:
    return (obj["metadata"].get("namespace"), obj["metadata"]["name"])


def owner_keys(kind: str) -> Callable:
    """A Watch map that requeues the owners of ``kind`` named in an object's ownerReferences."""
    def keys(obj: dict) -> list:
        return [(obj["metadata"].get("namespace"), ref["name"])
                for ref in obj["metadata"].get("ownerReferences") or [] if ref["kind"] == kind]
    return keys
