#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mtv_migration
short_description: Run an MTV migration Plan, set its warm cutover, cancel VMs, archive the plan
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Starts a Plan made with M(ontap.virtualization.mtv_plan) by creating its Migration C(<plan>-<n>), where
    C(n) counts the plan's runs. A rerun finds the plan's Migration again and never starts a second one while
    one runs or after one succeeded; after a failed or canceled run a new one starts only with O(restart=true).
  - Sets or moves the cutover of a warm migration (V(now), a time, or the start of a maintenance window), cancels
    VMs, and archives the plan once its migration has ended.
  - Waits with a progress line per VM (phase, pipeline step, MB transferred of the total, precopies) and returns
    the same per VM. A warm migration without a cutover is waited for until every VM precopies and waits for
    its cutover. When the wait times out the migration keeps running, and the message says so; a rerun follows
    the same migration.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
options:
  plan:
    description: Name of the Plan.
    type: str
    required: true
  namespace:
    description: Namespace of the Plan.
    type: str
    default: openshift-mtv
  cutover:
    description:
      - For a warm plan, when to cut over - V(now) or an RFC3339 time such as C(2026-12-05T02:00:00Z) (a time with
        an offset is converted to UTC). A later run with another time moves the cutover. Cold plans ignore it.
      - Mutually exclusive with O(cutover_window).
    type: str
  cutover_window:
    description:
      - For a warm plan, cut over at the start of a weekly maintenance window - the next O(cutover_window.start)
        on one of O(cutover_window.weekdays) in O(cutover_window.timezone), at or after the time the task runs,
        written to the Migration in UTC.
      - A rerun keeps the cutover already set when it is a start of the window no later than the next one (so a
        rerun during the window, after the cutover began, changes nothing); a cutover set otherwise (by hand, by
        O(cutover), or for a window since changed) is moved to the next start.
      - Mutually exclusive with O(cutover).
    type: dict
    suboptions:
      start:
        description: Time of day the window opens, C(HH:MM) on a 24-hour clock, such as C(02:00).
        type: str
        required: true
      weekdays:
        description: Days the window opens on; all days when not given.
        type: list
        elements: str
        choices: [mon, tue, wed, thu, fri, sat, sun]
      timezone:
        description:
          - Time zone of O(cutover_window.start) - an IANA name such as C(Europe/Paris) (daylight saving time
            followed; needs Python 3.9 or later where the module runs), V(UTC), or a fixed offset such as C(+02:00).
        type: str
        default: UTC
  cancel:
    description: Names (or ids) of VMs of the plan whose migration is canceled; MTV powers their sources back on.
    type: list
    elements: str
  archive:
    description: Archive the plan once its migration has ended (MTV cleans up what did not succeed).
    type: bool
    default: false
  restart:
    description: When the plan's last Migration failed or was canceled, start a new one.
    type: bool
    default: false
attributes:
  check_mode:
    details: Writes are dry runs; the module does not wait.
"""

EXAMPLES = r"""
- name: Start the warm plan and cut over at the start of the maintenance window
  ontap.virtualization.mtv_migration:
    plan: postgres
    cutover: "2026-12-05T02:00:00Z"
    wait_timeout: 14400
    progress_interval: 60
  register: run

- name: Cut over when the Saturday or Sunday maintenance window opens at 02:00 Paris time
  ontap.virtualization.mtv_migration:
    plan: postgres
    cutover_window:
      weekdays: [sat, sun]
      start: "02:00"
      timezone: Europe/Paris

- name: Cut over now
  ontap.virtualization.mtv_migration:
    plan: postgres
    cutover: now
"""

RETURN = r"""
migration:
  description: The plan's Migration.
  returned: when the plan has one (or would, in check mode)
  type: dict
  contains:
    name: {description: Its name., type: str}
    namespace: {description: Its namespace., type: str}
    cutover: {description: The cutover time set on it., type: str}
    outcome: {description: "V(Succeeded), V(Failed), V(Canceled) or V(Running).", type: str}
    conditions: {description: Its conditions., type: list, elements: dict}
vms:
  description: Per VM.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The source VM., type: str}
    id: {description: Its vSphere id., type: str}
    new_name: {description: Its name on OpenShift., type: str}
    phase: {description: Its itinerary phase., type: str}
    step: {description: Its current pipeline step., type: str}
    transferred_mb: {description: MB of its disks transferred., type: int}
    total_mb: {description: MB of its disks in all., type: int}
    precopies: {description: Warm precopies done., type: int}
    outcome: {description: "V(Succeeded), V(Failed), V(Canceled), or none while it runs.", type: str}
archived:
  description: Whether the plan is archived.
  returned: always
  type: bool
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of the managed fields of every object the run changed.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule
from ansible_collections.ontap.virtualization.plugins.module_utils.mtv_run import WEEKDAYS, Run

ARGUMENT_SPEC = dict(
    plan=dict(type="str", required=True),
    namespace=dict(type="str", default="openshift-mtv"),
    cutover=dict(type="str"),
    cutover_window=dict(type="dict", options=dict(
        start=dict(type="str", required=True),
        weekdays=dict(type="list", elements="str", choices=list(WEEKDAYS)),
        timezone=dict(type="str", default="UTC"),
    )),
    cancel=dict(type="list", elements="str"),
    archive=dict(type="bool", default=False),
    restart=dict(type="bool", default=False),
)


def run(module):
    return module.result(**Run(module).run())


def main():
    KubeModule(ARGUMENT_SPEC, progress=True, mutually_exclusive=[("cutover", "cutover_window")]).run(run)


if __name__ == "__main__":
    main()
