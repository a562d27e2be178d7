# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Options of every module that starts long-running work in the cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Whether to wait until the work the module started is done (or the object is gone, with C(state=absent) where a module has it).
      - The wait watches the object and ends as soon as the cluster reports the expected state.
      - Ignored in check mode.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait at most. On timeout the module fails and reports the last status it saw
        and what was still missing.
    type: int
    default: 300
"""
