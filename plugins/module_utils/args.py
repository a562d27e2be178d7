# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Argument specs every module shares; documented in the doc fragments of the same names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

DEFAULT_WAIT_TIMEOUT = 300
DEFAULT_PROGRESS_INTERVAL = 30

WAIT_ARG_SPEC = {
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": DEFAULT_WAIT_TIMEOUT},
}
PROGRESS_ARG_SPEC = {
    "progress_interval": {"type": "int", "default": DEFAULT_PROGRESS_INTERVAL},
}


def module_argument_spec(spec, wait=True, progress=False):
    """``spec`` plus the connection options (and the wait and progress options when asked)."""
    merged = copy.deepcopy(AUTH_ARG_SPEC)
    if wait:
        merged.update(copy.deepcopy(WAIT_ARG_SPEC))
    if progress:
        merged.update(copy.deepcopy(PROGRESS_ARG_SPEC))
    merged.update(spec)
    return merged


def number_problems(params):
    """Out-of-range wait options, as sentences (argument specs have no minimum)."""
    problems = []
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 1:
        problems.append("wait_timeout must be at least 1 (seconds), not {0}".format(params["wait_timeout"]))
    if params.get("progress_interval") is not None and params["progress_interval"] < 0:
        problems.append("progress_interval must be 0 (no progress lines) or more seconds, not {0}".format(
            params["progress_interval"]))
    return problems
