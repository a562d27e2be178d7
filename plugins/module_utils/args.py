# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Argument specs every module shares; documented in the doc fragments of the same names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

DEFAULT_WAIT_TIMEOUT = 300

WAIT_ARG_SPEC = {
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": DEFAULT_WAIT_TIMEOUT},
}


def module_argument_spec(spec, wait=True):
    """``spec`` plus the connection options (and the wait options when ``wait``)."""
    merged = copy.deepcopy(AUTH_ARG_SPEC)
    if wait:
        merged.update(copy.deepcopy(WAIT_ARG_SPEC))
    merged.update(spec)
    return merged
