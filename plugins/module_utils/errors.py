# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""API errors turned into sentences a user can act on."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import ssl


class ModuleError(Exception):
    """A failure the module reports with ``fail_json(msg=..., **details)``."""

    def __init__(self, msg, **details):
        super(ModuleError, self).__init__(msg)
        self.msg = msg
        self.details = details


class WorkFailed(ModuleError):
    """Work the cluster ran to its end failed (a migration): its object stays as the cluster's record of why."""


def describe(ref):
    """``TridentBackendConfig trident/backend-nas`` from an object reference."""
    where = "{0}/{1}".format(ref.namespace, ref.name) if ref.namespace else ref.name
    return "{0} {1}".format(ref.kind, where) if where else ref.kind


def status_body(exc):
    """The ``Status`` object the API server sent with an error, or {}."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return {}
    try:
        status = json.loads(body)
    except ValueError:
        return {"message": body.strip()}
    return status if isinstance(status, dict) else {}


def _causes(status):
    lines = []
    for cause in (status.get("details") or {}).get("causes") or []:
        field = cause.get("field")
        message = cause.get("message") or cause.get("reason") or ""
        lines.append("{0}: {1}".format(field, message) if field else message)
    return lines


def _innermost(exc):
    """The root cause of a transport error (urllib3 wraps it in MaxRetryError.reason, Python in __context__)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException):
            inner = exc.__cause__ or exc.__context__
        if inner is None:
            return exc
        exc = inner
    return exc


def is_tls_failure(exc):
    """Whether a transport error is a failed TLS handshake or certificate check (never transient)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ssl.SSLError) or type(exc).__name__ == "SSLError":
            return True
        inner = getattr(exc, "reason", None)
        exc = inner if isinstance(inner, BaseException) else (exc.__cause__ or exc.__context__)
    return False


def transport_error_message(exc, endpoint):
    """One sentence for a failure below HTTP (TLS, refused or dropped connection, DNS) at ``endpoint``."""
    cause = _innermost(exc)
    if is_tls_failure(exc):
        return ("TLS verification of the Kubernetes API at {0} failed: {1}. Give the cluster's CA with ca_cert "
                "(or in the kubeconfig), or check that the address is the API server's.").format(endpoint, cause)
    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(cause):
        return ("Nothing answers at {0} (connection refused). Check the API server address and port in the "
                "kubeconfig or host option, and that the API server is running.").format(endpoint)
    return "Could not reach the Kubernetes API at {0}: {1}. Check the address and the network path to it.".format(
        endpoint, cause)


# The attempt that is not an RBAC verb on a resource: reading the API's discovery documents (non-resource URLs).
DISCOVER = "discover the API of"


def api_error_message(exc, verb, ref, doing=None):
    """One sentence for an API error met while doing ``verb`` (an RBAC verb) on ``ref``.

    ``ref`` has ``kind``, ``name``, ``namespace``, ``api_version`` and ``plural``;
    ``doing`` words the attempt when it is not the verb itself ("discover the API of").
    """
    status = status_body(exc)
    code = getattr(exc, "status", None)
    server_says = status.get("message") or getattr(exc, "reason", None) or str(exc)
    what = describe(ref)
    doing = doing or verb

    if code == 422:
        causes = _causes(status) or [server_says]
        return "The API server rejected {0} of {1} as invalid: {2}. Fix these fields and run again.".format(
            verb, what, "; ".join(causes))
    if code == 403:
        scope = "in namespace '{0}'".format(ref.namespace) if ref.namespace else "at cluster scope"
        if doing == DISCOVER:
            return ("The account in use may not {0} {1} ({2}): {3}. Grant it the verb 'get' on the non-resource URLs "
                    "/api/* and /apis/* (as the system:discovery ClusterRole does), or run with an account that has "
                    "it.").format(doing, ref.kind, ref.api_version, server_says)
        if "admission webhook" in server_says:
            return "An admission webhook refused {0} of {1}: {2}".format(verb, what, server_says)
        group = ref.api_version.rpartition("/")[0] if ref.api_version else ""
        return ("The account in use may not {0} {1} ({2}) {3}: {4}. Grant it the verb '{0}' on '{1}' in API group "
                "'{5}'{6} with a Role or ClusterRole, or run with an account that has it.").format(
                    verb, ref.plural, ref.api_version, scope, server_says, group,
                    " (the core group)" if not group else "")
    if code == 401:
        return ("The API server did not accept the credentials while trying to {0} {1}: {2}. Check the token, "
                "client certificate or kubeconfig.").format(doing, what, server_says)
    if code == 404:
        return "Could not {0} {1}: {2}.".format(doing, what, server_says)
    if code == 409:
        return "Could not {0} {1} because of a conflict: {2}".format(doing, what, server_says)
    if code is not None:
        return "Could not {0} {1} (HTTP {2}): {3}".format(doing, what, code, server_says)
    return "Could not {0} {1}: {2}".format(doing, what, server_says)
