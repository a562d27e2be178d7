# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The attributes every module of the collection shares: full check and diff mode, any controller platform.

A module states only what differs, and what check mode does for it (C(details)).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the cluster.
    support: full
  diff_mode:
    description: Returns before and after of the managed fields of what changed (or would, in check mode) in diff mode.
    support: full
  platform:
    description: Runs on the Ansible controller (or an execution environment) and talks to the cluster's API.
    support: full
    platforms: all
"""
