# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base every module of the collection runs on."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.ontap.virtualization.plugins.module_utils.args import module_argument_spec, number_problems
from ansible_collections.ontap.virtualization.plugins.module_utils.ensure import Ensurer
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import (
    ModuleError,
    WorkFailed,
    describe,
    transport_error_message,
)
from ansible_collections.ontap.virtualization.plugins.module_utils.kube import DEFAULT_RETRY_SECONDS, Kube
from ansible_collections.ontap.virtualization.plugins.module_utils.retry import call_with_backoff, is_server_busy
from ansible_collections.ontap.virtualization.plugins.module_utils.wait import (
    Waiter,
    WaitTimedOut,
    short_status,
    summarize_status,
    timeout_message,
)


class Pending(Exception):
    """This run's share of the wait is over before the work is: the action plugin reports progress and runs again."""

    def __init__(self, timed_out, now=None, timeout_note=None):
        super(Pending, self).__init__(timed_out.msg)
        self.progress = {"waiting_for": describe(timed_out.ref), "missing": timed_out.missing,
                         "now": (now or short_status)(timed_out.last), "status": summarize_status(timed_out.last)}
        if timeout_note:
            self.progress["timeout_note"] = timeout_note


class KubeModule(object):
    """An Ansible module with the connection (and wait) options, a Kube, an Ensurer and a Waiter.

    ``run(action)`` calls ``action(self)``, which returns the result dict; a
    ModuleError becomes ``fail_json`` with its message and details. Every write goes
    through the one Ensurer, whose ``changes`` make the result (``result()``).
    """

    def __init__(self, argument_spec, wait=True, progress=False, clock=time.monotonic, **kwargs):
        kwargs.setdefault("supports_check_mode", True)
        self.ansible = AnsibleK8SModule(
            argument_spec=module_argument_spec(argument_spec, wait=wait, progress=progress), **kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.diff_mode = self.ansible._diff
        self._kube = None
        self._ensurer = None
        self._clock = clock
        self._started = clock()

    @property
    def kube(self):
        if self._kube is None:
            self._kube = Kube(connect(self.ansible))
        return self._kube

    @property
    def ensurer(self):
        if self._ensurer is None:
            self._ensurer = Ensurer(self.kube, check_mode=self.check_mode, want_diff=self.diff_mode)
        return self._ensurer

    def result(self, **values):
        """The module result: ``values`` plus what this run changed (changed, changes, diff)."""
        return self.ensurer.changes.result(**values)

    def clock(self):
        """Seconds on the clock this run's waits are measured by."""
        return self._clock()

    def waiter(self, progress=None, recheck=None):
        if recheck is None:
            return Waiter(self.kube, clock=self._clock, progress=progress)
        return Waiter(self.kube, clock=self._clock, progress=progress, recheck=recheck)

    def wait_until(self, ref, predicate, fail_when=None, recheck=None, now=None, timeout_note=None):
        """Wait for ``predicate`` on ``ref`` within what is left of this run's wait.

        One run waits ``wait_timeout`` seconds in all, over every wait it makes. With
        ``progress_interval``, a run stops waiting after that many seconds and ends with
        its progress (``Pending``); the module's action plugin prints it and runs the
        module again, which finds its own work done so far and waits on. ``now`` turns the
        object into the progress line's status (default: phase and conditions);
        ``timeout_note`` is added to the message when the whole wait times out.
        """
        return self._within_budget(lambda waiter, left: waiter.until(ref, predicate, left, fail_when=fail_when),
                                   recheck, now, timeout_note)

    def wait_until_each(self, ref, names, predicate, label_selector, fail_when=None):
        """Like wait_until, for every object ``names`` lists (of ``ref``'s kind and namespace) with one watch on
        ``label_selector``; returns {name: object}."""
        return self._within_budget(lambda waiter, left: waiter.until_each(
            ref, names, predicate, left, fail_when=fail_when, label_selector=label_selector))

    def _within_budget(self, wait_for, recheck=None, now=None, timeout_note=None):
        interval = self.params.get("progress_interval") or 0
        budget = self.params["wait_timeout"]
        sliced = 0 < interval < budget
        left = (interval if sliced else budget) - (self._clock() - self._started)
        try:
            return wait_for(self.waiter(recheck=recheck), max(left, 0.001))
        except WaitTimedOut as exc:
            if sliced:
                raise Pending(exc, now, timeout_note)
            message = timeout_message(budget, describe(exc.ref), exc.missing, summarize_status(exc.last))
            raise WaitTimedOut(message + (" " + timeout_note if timeout_note else ""), exc.last, exc.ref, exc.missing)

    def warn(self, message):
        self.ansible.warn(message)

    def run(self, action):
        try:
            problems = number_problems(self.params)
            if problems:
                raise ModuleError("; ".join(problems) + ".")
            result = action(self)
        except Pending as pending:
            result = self.result(pending=pending.progress)
        except (WaitTimedOut, WorkFailed) as exc:  # the work goes on, or its failure is on record: leave it
            self.ansible.fail_json(msg=exc.msg, **self._failure_details(exc))
        except ModuleError as exc:
            self.ansible.fail_json(msg=_sentences(exc.msg, self._undo_creations()), **self._failure_details(exc))
        except CoreException as exc:
            self.ansible.fail_json(msg=str(exc))
        self.ansible.exit_json(**result)

    def _undo_creations(self):
        """After a definite failure, remove what this run created, so nothing half-made stays behind."""
        if self._ensurer is None:
            return ""
        lines = self._ensurer.undo_creations()
        return "Undone, to leave nothing half-made: " + "; ".join(lines) + "." if lines else ""

    def _failure_details(self, exc):
        details = dict(exc.details)
        if self._ensurer is not None:
            details.setdefault("changes", self._ensurer.changes.lines)
        return details


def _sentences(*texts):
    texts = [text.strip() for text in texts if text and text.strip()]
    return " ".join(text if text.endswith((".", "!", "?")) or text is texts[-1] else text + "." for text in texts)


def connect(ansible_module):
    """kubernetes.core's client for the module's connection options; every failure becomes one sentence.

    The client reads the kubeconfig and asks the server for its version at once, so
    a missing or unparsable kubeconfig, a refused connection, a failed TLS check and
    rejected credentials all surface here, before any other call.
    """
    kubeconfig = ansible_module.params.get("kubeconfig") or os.environ.get("K8S_AUTH_KUBECONFIG")
    if isinstance(kubeconfig, str) and not os.path.exists(os.path.expanduser(kubeconfig)):
        # The kubeconfig option is no_log (it may be a dict with tokens): a path given whole would print as ********.
        raise ModuleError("The kubeconfig file '{0}' does not exist in directory '{1}'. Check the kubeconfig option "
                          "or K8S_AUTH_KUBECONFIG.".format(os.path.basename(kubeconfig),
                                                           os.path.dirname(os.path.abspath(kubeconfig))))
    try:
        # A server that answers 429 or 5xx is there and busy: come back, as every later call does. A connection that
        # fails at first contact is more often a wrong endpoint than a blip, and is reported at once.
        return call_with_backoff(lambda: get_api_client(module=ansible_module),
                                 time.monotonic() + DEFAULT_RETRY_SECONDS, transient=is_server_busy)
    except CoreException as exc:
        raise ModuleError("Could not read the connection settings for the Kubernetes API: {0}. Check the kubeconfig "
                          "(or the host, api_key and ca_cert options).".format(exc))
    except Exception as exc:  # pylint: disable=broad-except
        status = getattr(exc, "status", None)
        if status == 403:  # authenticated, but not allowed the first request: GET /version
            raise ModuleError("The account in use may not get the API server's version (HTTP 403): {0}. Grant it the "
                              "verb 'get' on the non-resource URL /version (as the system:public-info-viewer "
                              "ClusterRole does), or run with an account that has it.".format(
                                  getattr(exc, "reason", exc)))
        if status == 401:
            raise ModuleError("The Kubernetes API did not accept the credentials (HTTP {0}): {1}. Check the token, "
                              "client certificate or kubeconfig.".format(status, getattr(exc, "reason", exc)))
        if status is not None:
            raise ModuleError("The Kubernetes API answered HTTP {0} to the first request: {1}.".format(
                status, getattr(exc, "reason", exc)))
        if _is_config_error(exc):
            raise ModuleError("Could not read the kubeconfig: {0}. Check that it is a valid kubeconfig file.".format(exc))
        raise ModuleError(transport_error_message(exc, ansible_module.params.get("host") or _configured_host()))


def _configured_host():
    """The server the kubeconfig named (kubernetes.core loaded it into the client's default configuration)."""
    try:
        from kubernetes.client import Configuration
        return Configuration.get_default_copy().host
    except Exception:  # pylint: disable=broad-except
        return "the kubeconfig's server"


def _is_config_error(exc):
    """A kubeconfig that is not YAML, or YAML that is not a kubeconfig."""
    return type(exc).__module__.split(".")[0] == "yaml" or isinstance(exc, (TypeError, KeyError, AttributeError))
