# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Options of the modules whose waits report progress while they run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  progress_interval:
    description:
      - Seconds between progress lines during a wait. The module waits at most this long at a time; between
        those slices a line says what it waits for, the status now and what is still missing, in a terminal
        and in an AWX job's output. O(wait_timeout) bounds all slices together.
      - V(0) waits in one piece and prints nothing until the end.
    type: int
    default: 30
"""
