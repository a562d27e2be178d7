# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""API errors turned into sentences a user can act on."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


class ModuleError(Exception):
    """A failure the module reports with ``fail_json(msg=..., **details)``."""

    def __init__(self, msg, **details):
        super(ModuleError, self).__init__(msg)
        self.msg = msg
        self.details = details


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


def api_error_message(exc, verb, ref):
    """One sentence for an API error met while doing ``verb`` on ``ref``.

    ``ref`` has ``kind``, ``name``, ``namespace``, ``api_version`` and ``plural``.
    """
    status = status_body(exc)
    code = getattr(exc, "status", None)
    server_says = status.get("message") or getattr(exc, "reason", None) or str(exc)
    what = describe(ref)

    if code == 422:
        causes = _causes(status) or [server_says]
        return "The API server rejected {0} of {1} as invalid: {2}. Fix these fields and run again.".format(
            verb, what, "; ".join(causes))
    if code == 403:
        scope = "in namespace '{0}'".format(ref.namespace) if ref.namespace else "at cluster scope"
        if "admission webhook" in server_says:
            return "An admission webhook refused {0} of {1}: {2}".format(verb, what, server_says)
        return ("The account in use may not {0} {1} ({2}) {3}: {4}. Grant it the verb '{0}' on '{1}' "
                "with a Role or ClusterRole, or run with an account that has it.").format(
                    verb, ref.plural, ref.api_version, scope, server_says)
    if code == 401:
        return "The API server did not accept the credentials while trying to {0} {1}: {2}. Check the token, client certificate or kubeconfig.".format(
            verb, what, server_says)
    if code == 404:
        return "Could not {0} {1}: {2}.".format(verb, what, server_says)
    if code == 409:
        return "Could not {0} {1} because of a conflict: {2}".format(verb, what, server_says)
    if code is not None:
        return "Could not {0} {1} (HTTP {2}): {3}".format(verb, what, code, server_says)
    return "Could not {0} {1}: {2}".format(verb, what, server_says)
