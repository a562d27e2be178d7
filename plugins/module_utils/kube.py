# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's one way to talk to the Kubernetes API.

Built on kubernetes.core's client (auth options, kubeconfig, impersonation and the
discovery cache); this layer adds what every module of ours needs on top: object
references, transient-error back-off, errors as sentences, explicit dry runs and
raw watch streams for the waiter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from collections import namedtuple

from ansible_collections.ontap.virtualization.plugins.module_utils import fields
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import (
    DISCOVER,
    ModuleError,
    api_error_message,
    status_body,
    transport_error_message,
)
from ansible_collections.ontap.virtualization.plugins.module_utils.retry import (
    call_with_backoff,
    is_connection_error,
    is_transient,
)

try:
    from kubernetes.dynamic.exceptions import ResourceNotFoundError
    from kubernetes.watch import Watch
except ImportError:  # reported by the module's requirement check
    ResourceNotFoundError = Watch = None

# The verbs of our calls, spelled as RBAC spells them so that a 403 message can be pasted into a Role.
GET, LIST, WATCH, CREATE, PATCH, DELETE = "get", "list", "watch", "create", "patch", "delete"
MERGE_PATCH = "application/merge-patch+json"
EVICTION = "pods/eviction"
DRY_RUN_ALL = "All"
DEFAULT_RETRY_SECONDS = 60
USER_AGENT = "ontap.virtualization"


class ObjectRef(namedtuple("ObjectRef", "api_version kind name namespace plural")):
    """Which object: enough to read it and to name it in a message."""


class NotServed(ModuleError):
    """The cluster does not serve this kind: its operator or CRD is not installed."""


def _transient_but_not_a_refusal(exc):
    """An eviction's 429 is a refusal to act on (a disruption budget, or KubeVirt migrating the VM first)."""
    return getattr(exc, "status", None) != 429 and is_transient(exc)


class Conflict(Exception):
    """The object changed between our read and our write (HTTP 409 on update)."""


class Kube(object):
    """API calls with back-off and readable errors.

    ``client`` is a kubernetes.core ``K8SClient``; ``retry_seconds`` bounds the
    back-off of each call.
    """

    def __init__(self, client, retry_seconds=DEFAULT_RETRY_SECONDS, clock=time.monotonic):
        self._dynamic = client.client
        self.host = getattr(getattr(client, "configuration", None), "host", None) or "the configured API server"
        # The API server names field managers and audit entries after the user agent.
        self._dynamic.client.user_agent = USER_AGENT
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._resources = {}

    def bearer_token(self):
        """The bearer token the client authenticates with, or None (client certificates, or no token configured)."""
        configuration = getattr(self._dynamic.client, "configuration", None)
        parts = ((getattr(configuration, "api_key", None) or {}).get("authorization") or "").split(None, 1)
        if parts and parts[0].lower() == "bearer":
            return parts[1].strip() if len(parts) > 1 else None
        return " ".join(parts) or None

    def resource(self, api_version, kind):
        """The API resource of ``kind``; NotServed when the cluster does not serve it."""
        key = (api_version, kind)
        if key not in self._resources:
            try:
                self._resources[key] = call_with_backoff(
                    lambda: self._discover(api_version, kind), self._clock() + self.retry_seconds)
            except ResourceNotFoundError:
                raise NotServed(
                    "The cluster does not serve {0} ({1}). Is the operator or CRD that provides it installed?".format(
                        kind, api_version))
            except Exception as exc:  # pylint: disable=broad-except
                raise self.error(exc, GET, ObjectRef(api_version, kind, None, None, kind), doing=DISCOVER)
        return self._resources[key]

    def _discover(self, api_version, kind):
        try:
            return self._dynamic.resources.get(api_version=api_version, kind=kind)
        except KeyError:
            # kubernetes.dynamic empties its discovery cache before asking /apis (discovery.py parse_api_groups); a
            # failed answer leaves it half-made, and lookups then fail with KeyError until it is rebuilt.
            self._dynamic.resources.invalidate_cache()
            return self._dynamic.resources.get(api_version=api_version, kind=kind)

    def served(self, api_version, kind):
        """Whether the cluster serves ``kind``. Only "not served" is False: any other error is raised."""
        try:
            self.resource(api_version, kind)
        except NotServed:
            return False
        return True

    def ref(self, api_version, kind, name=None, namespace=None):
        resource = self.resource(api_version, kind)
        return ObjectRef(api_version, kind, name, namespace if resource.namespaced else None, resource.name)

    def _call(self, verb, ref, call, missing_ok=False):
        """Run one API call with back-off; errors become ModuleError sentences.

        With ``missing_ok`` a 404 returns None; a 409 raises Conflict for the caller
        to re-read and retry.
        """
        try:
            found = call_with_backoff(call, self._clock() + self.retry_seconds)
        except Exception as exc:  # pylint: disable=broad-except
            status = getattr(exc, "status", None)
            if status == 404 and missing_ok:
                return None
            if status == 409 and verb == PATCH:
                raise Conflict(str(exc))
            raise self.error(exc, verb, ref)
        return _without_managed_fields(found.to_dict()) if found is not None else None

    def error(self, exc, verb, ref, doing=None):
        """A ModuleError that says in a sentence what failed: an API answer, or the connection below it."""
        status = getattr(exc, "status", None)
        if status is None and is_connection_error(exc):
            return ModuleError(transport_error_message(exc, self.host))
        return ModuleError(api_error_message(exc, verb, ref, doing), status=status)

    def get(self, ref):
        """The object as a dict, or None when it does not exist."""
        resource = self.resource(ref.api_version, ref.kind)
        return self._call(GET, ref, lambda: resource.get(name=ref.name, namespace=ref.namespace), missing_ok=True)

    def list(self, ref, label_selector=None, field_selector=None):
        """(items, resourceVersion) of the objects of ``ref``'s kind, in its namespace or everywhere."""
        resource = self.resource(ref.api_version, ref.kind)
        result = self._call(LIST, ref, lambda: resource.get(
            namespace=ref.namespace, label_selector=label_selector, field_selector=field_selector))
        return result.get("items") or [], (result.get("metadata") or {}).get("resourceVersion")

    def create(self, ref, body, dry_run=False):
        """Create the object ``body`` describes (``ref`` names it).

        A create is not idempotent: an attempt whose answer was lost (a reset connection, a 5xx from a proxy) may
        have made the object, and the next attempt is refused AlreadyExists. The object is then the one this call
        made when it holds everything ``body`` asks for; anything else stays a conflict.
        """
        resource = self.resource(ref.api_version, ref.kind)
        params = {"dry_run": DRY_RUN_ALL} if dry_run else {}
        attempts = []

        def create_once():
            attempts.append(ref)
            return resource.create(body=body, namespace=ref.namespace, **params)

        try:
            return self._call(CREATE, ref, create_once)
        except ModuleError as exc:
            if exc.details.get("status") != 409 or len(attempts) < 2 or dry_run or not ref.name:
                raise
            made = self.get(ref)
            if made is None or not fields.contains(made, body):
                raise
            return made

    def patch(self, ref, patch, dry_run=False):
        """JSON merge patch; a ``metadata.resourceVersion`` in ``patch`` makes it conditional (Conflict)."""
        resource = self.resource(ref.api_version, ref.kind)
        params = {"dry_run": DRY_RUN_ALL} if dry_run else {}
        return self._call(PATCH, ref, lambda: resource.patch(
            body=patch, name=ref.name, namespace=ref.namespace, content_type=MERGE_PATCH, **params))

    def delete(self, ref, dry_run=False, propagation="Background"):
        """Delete the object; returns False when it was already gone."""
        resource = self.resource(ref.api_version, ref.kind)
        # With a DeleteOptions body the API server reads dryRun from the body, not from the query.
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if dry_run:
            body["dryRun"] = [DRY_RUN_ALL]
        deleted = self._call(DELETE, ref, lambda: resource.delete(
            name=ref.name, namespace=ref.namespace, body=body), missing_ok=True)
        return deleted is not None

    def evict(self, ref, dry_run=False):
        """Ask the eviction API to evict the Pod ``ref``; returns None when it is evicted or gone, else the refusal.

        A refusal (HTTP 429: a PodDisruptionBudget, or KubeVirt migrating the VM away first) is an
        answer to act on, not throttling: it is returned as ``(status, message)`` and never retried here.
        A 5xx or a dropped connection is tried again with back-off: asking again is safe, since the pod of an
        eviction that went through is gone or terminating (404, or evicted again) and a VM already leaving is
        answered 429.
        """
        body = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": ref.name, "namespace": ref.namespace}}
        if dry_run:
            body["deleteOptions"] = {"dryRun": [DRY_RUN_ALL]}
        pods = self.resource("v1", "Pod")
        try:
            call_with_backoff(lambda: pods.subresources["eviction"].create(
                body=body, name=ref.name, namespace=ref.namespace), self._clock() + self.retry_seconds,
                transient=_transient_but_not_a_refusal)
        except Exception as exc:  # pylint: disable=broad-except
            status = getattr(exc, "status", None)
            if status == 404:
                return None
            if status == 429:
                return status, (status_body(exc) or {}).get("message") or str(exc)
            # RBAC grants eviction as the verb 'create' on the subresource pods/eviction.
            raise self.error(exc, CREATE, ref._replace(plural=EVICTION), doing="evict")
        return None

    def watch(self, ref, resource_version, timeout_seconds, label_selector=None):
        """Stream ``(event type, object dict)`` for the one object ``ref`` names, or with
        ``label_selector`` for every object of its kind (and namespace) that the selector matches.

        The server ends the stream after ``timeout_seconds``; the client gives up a
        few seconds later if the connection goes silent, so a dead connection can
        not hang a wait.
        """
        resource = self.resource(ref.api_version, ref.kind)
        watcher = Watch()
        if label_selector is None:
            selectors = {"field_selector": "metadata.name={0}".format(ref.name)}
        else:
            selectors = {"label_selector": label_selector}
        stream = watcher.stream(
            resource.get,
            namespace=ref.namespace,
            resource_version=resource_version,
            timeout_seconds=max(1, int(timeout_seconds)),
            allow_watch_bookmarks=True,
            serialize=False,
            _request_timeout=timeout_seconds + 5,
            **selectors
        )
        try:
            for event in stream:
                yield event["type"], event["raw_object"]
        except Exception as exc:  # pylint: disable=broad-except
            if getattr(exc, "status", None) in (401, 403):  # the watch's own verb to grant, as every call's 403 says
                raise self.error(exc, WATCH, ref._replace(name=None) if label_selector is not None else ref)
            raise
        finally:
            watcher.stop()


def _without_managed_fields(obj):
    """Drop metadata.managedFields (of an object, or of each item of a list): noise in every result."""
    for item in [obj] + list(obj.get("items") or []):
        (item.get("metadata") or {}).pop("managedFields", None)
    return obj
