# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Back-off for the errors that go away by themselves: throttling, server errors, resets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.ontap.virtualization.plugins.module_utils.errors import is_tls_failure

try:
    from urllib3.exceptions import HTTPError as TransportError
except ImportError:  # reported by the module's requirement check
    TransportError = OSError

RETRYABLE_STATUS = frozenset([429, 500, 502, 503, 504])
FIRST_DELAY = 0.2
MAX_DELAY = 5.0


def is_connection_error(exc):
    """A failure below HTTP: TLS, a refused, reset or dropped connection, name resolution."""
    return isinstance(exc, (TransportError, ConnectionError)) or is_tls_failure(exc)


def is_transient(exc):
    """Throttling, server errors and dropped connections; never a failed TLS check, which only a fix cures."""
    if is_tls_failure(exc):
        return False
    if isinstance(exc, (TransportError, ConnectionError)):
        return True
    return is_server_busy(exc)


def _retry_after(exc):
    headers = getattr(exc, "headers", None) or {}
    try:
        return float(headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


def is_server_busy(exc):
    """Throttling and server errors only: the server answered, and asked us to come back."""
    return getattr(exc, "status", None) in RETRYABLE_STATUS


def call_with_backoff(call, deadline, clock=time.monotonic, sleep=time.sleep, transient=is_transient):
    """Run ``call()``; on an error ``transient`` accepts, sleep and try again until ``deadline``.

    The delay doubles from FIRST_DELAY up to MAX_DELAY, or follows the server's
    Retry-After on 429. The last error is raised once the deadline would pass.
    """
    delay = FIRST_DELAY
    while True:
        try:
            return call()
        except Exception as exc:  # pylint: disable=broad-except
            if not transient(exc):
                raise
            pause = _retry_after(exc) or delay
            if clock() + pause >= deadline:
                raise
            sleep(pause)
            delay = min(delay * 2, MAX_DELAY)
