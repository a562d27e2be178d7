#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: migration_report
short_description: Write the migration report, as JSON and as a self-contained HTML page
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Writes a report of a migration from VMware - the readiness assessment of
    C(ontap.virtualization.migration_assessment) (each VM's status, and each reason with its fix), its waves, and
    per VM its run through MTV read from the cluster (the Plans named in O(plans) and their latest Migrations).
  - The HTML page is one file with inline CSS and inline SVG, no script, and a Content-Security-Policy that lets
    the browser fetch nothing, so it opens offline and can be mailed or attached to a change ticket.
  - Per VM, the page draws a timeline from the times MTV records - the pipeline steps, each warm precopy, the
    cutover, the guest conversion, and the downtime (from the source's power-off to the VM's completion on
    OpenShift) - and lists its blockers.
  - The files are written only when their content changes, and the content depends only on the inputs and the
    cluster's objects (no time of the run unless O(generated_at) gives one), so a second run changes nothing.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
options:
  assessment:
    description:
      - The C(assessment) that C(ontap.virtualization.migration_assessment) returns.
    type: dict
    default: {}
    suboptions:
      source: {description: What was assessed (a vCenter or an export)., type: raw}
      generated_at: {description: When the assessment was made., type: str}
      round_trips: {description: vCenter round trips the assessment took., type: int}
      summary: {description: "Counts and totals (total, ready, ready_with_warnings, blocked, cpu, memory_mib,
                 disk_gib).", type: dict, default: {}}
      unanswered: {description: Checks the source could not answer., type: list, elements: raw, default: []}
      vms:
        description: Per VM.
        type: list
        elements: dict
        default: []
        suboptions:
          name: {description: The VM's name in vSphere., type: str, required: true}
          id: {description: Its vSphere id (moRef)., type: str}
          folder: {description: Its folder., type: str}
          cluster: {description: Its cluster., type: str}
          host: {description: Its ESXi host., type: str}
          power_state: {description: Its power state., type: str}
          status: {description: "V(ready), V(ready with warnings) or V(blocked).", type: str}
          target_name: {description: Its name on OpenShift., type: str}
          migrated: {description: Whether the target namespace holds the VM Forklift made of it., type: bool}
          cpu: {description: vCPUs., type: int}
          memory_mib: {description: Memory in MiB., type: int}
          disk_gib: {description: Disk in GiB., type: float}
          datastores: {description: Its datastores., type: list, elements: str, default: []}
          networks: {description: Its networks., type: list, elements: str, default: []}
          reasons:
            description:
              - What keeps it from being ready, each with C(rule), C(category) (a V(Critical) one blocks), C(message)
                (what is wrong) and C(fix) (what to do about it).
            type: list
            elements: dict
            default: []
  waves:
    description:
      - The C(waves) that C(ontap.virtualization.migration_assessment) returns; each wave's name is its plan's.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: The wave's name., type: str, required: true}
      index: {description: Its place in the order., type: int}
      vms: {description: Names of its VMs., type: list, elements: str, default: []}
      hosts: {description: Its ESXi hosts., type: list, elements: str, default: []}
      disk_gib: {description: Its disk in GiB., type: float}
      copy_gib: {description: The disk in GiB of its VMs not migrated yet., type: float}
  plans:
    description:
      - Names of the MTV Plans in O(namespace) whose latest Migration gives the VMs' runs - for waves, the waves'
        names. A plan not created yet is listed as such.
    type: list
    elements: str
    default: []
  namespace:
    description: Namespace of the Plans.
    type: str
    default: openshift-mtv
  json_path:
    description: Where to write the report as JSON (its directory must exist; in check mode it may not yet).
    type: path
  html_path:
    description: Where to write the report as an HTML page (its directory must exist).
    type: path
  title:
    description: The page's title.
    type: str
    default: Migration report
  generated_at:
    description:
      - A time to print as the report's date (for example C({{ now(utc=true).isoformat() }})). Left out, the
        report has none, so the same inputs give the same files.
    type: str
attributes:
  check_mode:
    details: Reads the cluster, writes no file, and says which files would change.
  diff_mode:
    support: partial
    details: The JSON file's before and after; the HTML page is drawn from the same report.
notes:
  - The module connects to the cluster only when O(plans) names plans.
"""

EXAMPLES = r"""
- name: Write the report of the assessment, the waves and their plans
  ontap.virtualization.migration_report:
    assessment: "{{ assessed.assessment }}"
    waves: "{{ assessed.waves }}"
    plans: "{{ assessed.waves | map(attribute='name') }}"
    json_path: /tmp/migration-report.json
    html_path: /tmp/migration-report.html
"""

RETURN = r"""
report:
  description: The report, as the JSON file holds it.
  returned: always
  type: dict
  contains:
    schema_version: {description: The version of this layout., type: int}
    title: {description: The title., type: str}
    generated_at: {description: O(generated_at)., type: str}
    assessment: {description: "The assessment's source, generated_at, summary and unanswered.", type: dict}
    waves: {description: The waves., type: list, elements: dict}
    plans:
      description: Per plan read.
      type: list
      elements: dict
      contains:
        name: {description: Its name., type: str}
        namespace: {description: Its namespace., type: str}
        found: {description: Whether the cluster has it., type: bool}
        migration: {description: Its latest Migration., type: str}
        outcome: {description: "V(Succeeded), V(Failed), V(Canceled), V(Running) or none.", type: str}
        started: {description: When the Migration started., type: str}
        completed: {description: When it ended., type: str}
        vms: {description: Its VMs., type: list, elements: str}
    migrated: {description: "Number of VMs per outcome (V(Succeeded), ..., V(not started)).", type: dict}
    window: {description: "The first and last time on the timelines (start, end).", type: dict}
    vms:
      description: Per VM, the assessment's fields, its C(wave), its C(blockers), and C(run).
      type: list
      elements: dict
      contains:
        blockers: {description: The reasons that stop it., type: list, elements: dict}
        run:
          description:
            - Its run through MTV (none when no plan read has it) - plan, migration, type, phase, step, outcome,
              started, completed, cutover, error, precopies, transferred_mb, total_mb, C(segments) (kind, label,
              start, end, seconds) and C(downtime) (start, end, seconds).
          type: dict
files:
  description: The files written (in check mode, that would be), and whether each changed.
  returned: always
  type: dict
  sample: {/tmp/migration-report.html: true, /tmp/migration-report.json: false}
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of the JSON file.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import report, report_html
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule
from ansible_collections.ontap.virtualization.plugins.module_utils.results import Changes

ASSESSED_VM = dict(
    name=dict(type="str", required=True), id=dict(type="str"), folder=dict(type="str"), cluster=dict(type="str"),
    host=dict(type="str"), power_state=dict(type="str"), status=dict(type="str"), target_name=dict(type="str"),
    migrated=dict(type="bool"), cpu=dict(type="int"), memory_mib=dict(type="int"), disk_gib=dict(type="float"),
    datastores=dict(type="list", elements="str", default=[]), networks=dict(type="list", elements="str", default=[]),
    # Not element options: Ansible keeps the option name "message" for itself; report.py reads the four keys.
    reasons=dict(type="list", elements="dict", default=[]),
)
ARGUMENT_SPEC = dict(
    assessment=dict(type="dict", default={}, options=dict(
        source=dict(type="raw"), generated_at=dict(type="str"), round_trips=dict(type="int"),
        summary=dict(type="dict", default={}), unanswered=dict(type="list", elements="raw", default=[]),
        vms=dict(type="list", elements="dict", default=[], options=ASSESSED_VM))),
    waves=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True), index=dict(type="int"),
        vms=dict(type="list", elements="str", default=[]), hosts=dict(type="list", elements="str", default=[]),
        disk_gib=dict(type="float"), copy_gib=dict(type="float"))),
    plans=dict(type="list", elements="str", default=[]),
    namespace=dict(type="str", default="openshift-mtv"),
    json_path=dict(type="path"),
    html_path=dict(type="path"),
    title=dict(type="str", default="Migration report"),
    generated_at=dict(type="str"),
)


def run(module):
    params = module.params
    paths = dict((kind, params[kind + "_path"]) for kind in ("json", "html") if params[kind + "_path"])
    report.check_paths(paths.values(), module.check_mode)
    runs = report.read_runs(module.kube, params["plans"], params["namespace"]) if params["plans"] else []
    built = report.build(params["assessment"], params["waves"], runs, params["title"], params["generated_at"])
    render = {"json": report.to_json, "html": report_html.render}
    contents = dict((path, render[kind](built)) for kind, path in paths.items())
    changes = Changes(check_mode=module.check_mode, want_diff=module.diff_mode)
    written = report.write_files(contents, changes)
    return changes.result(report=built, files=dict((path, path in written) for path in contents))


def main():
    KubeModule(ARGUMENT_SPEC, wait=False, required_one_of=[("json_path", "html_path")]).run(run)


if __name__ == "__main__":
    main()
