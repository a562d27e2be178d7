#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: migration_assessment
short_description: Assess which VMware VMs can migrate to OpenShift Virtualization on ONTAP, and plan waves
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Reads the selected VMs of a vCenter in bulk (one property collection over a container view, paged), so the
    number of vCenter round trips does not grow with the number of VMs, and judges each VM before anything is
    created in the cluster.
  - Covers the concerns of Forklift's VMware rules (kubev2v/forklift v2.12.5, each with its category) and what they
    cannot see - the room on the target ONTAP SVM, the Trident backend's C(limitVolumeSize), whether the class
    gives Block RWX, whether copy offload is possible, and the target name in the target namespace.
  - Each VM is V(ready), V(ready_with_warnings) (a Warning) or V(blocked) (a Critical reason); every reason has its
    fix.
  - With O(waves), splits the VMs that are not blocked into waves by count, total disk size and VMs per ESXi host,
    in a stable order, and refuses the waves the SVM has no room for.
  - Instead of a live vCenter, O(rvtools) reads an RVTools export (.xlsx), as Red Hat's Migration Assessment
    does; the rules the export cannot answer are skipped and listed in RV(assessment.unanswered).
  - Read-only, except O(fix) (V(cbt) enables changed block tracking through vSphere).
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
options:
  vcenter:
    description:
      - The vCenter to read.
      - Exactly one of O(vcenter) and O(rvtools) is required.
    type: dict
    suboptions:
      hostname:
        description: Address of the vCenter.
        type: str
        required: true
      port:
        description: HTTPS port of the vCenter.
        type: int
        default: 443
      username:
        description: A vCenter account that may read the inventory (and reconfigure VMs for O(fix)).
        type: str
        required: true
      password:
        description: Its password.
        type: str
        required: true
      validate_certs:
        description: Whether to verify the vCenter's certificate.
        type: bool
        default: true
      ca_path:
        description: PEM file of the CA that signed the vCenter's certificate (the system's CAs when left out).
        type: path
      ca_cert:
        description:
          - The same CA as PEM text, as a vCenter credential of AWX / Automation Controller holds it.
          - Mutually exclusive with O(vcenter.ca_path).
        type: str
        version_added: 1.0.0
      timeout:
        description:
          - Seconds each request to vCenter may take (the login, and each page of the inventory); a vCenter that
            does not answer in time fails the task with what to change instead of leaving it hanging.
        type: int
        default: 60
        version_added: 1.0.0
  rvtools:
    description:
      - Path of an RVTools export (.xlsx, on the host that runs the module) to read instead of a vCenter.
      - Needs the sheets vInfo and vDisk; vNetwork, vSnapshot, vUSB, vTools, vCPU, vMemory, vPartition and
        vDatastore answer more rules when present. A rule the export cannot answer (per-disk CBT, passthrough,
        SR-IOV and TPM devices, CPU and NUMA affinity, cluster DRS/DPM and VM-host rules, guest disk mapping, and
        those whose sheet or column is missing) is not checked and is listed in RV(assessment.unanswered).
      - Mutually exclusive with O(vcenter); O(fix) needs O(vcenter).
    type: path
    version_added: 1.0.0
  page_size:
    description:
      - How many objects one property-collector page holds.
    type: int
    default: 500
  select:
    description:
      - Which VMs to assess; a VM any selector picks is taken. All VMs (templates left out) when empty.
    type: dict
    default: {}
    suboptions:
      names:
        description: VM names.
        type: list
        elements: str
        default: []
      folders:
        description: VM folders, as a path (V(/DC0/vm/team-a), with every folder below it) or a folder name.
        type: list
        elements: str
        default: []
      clusters:
        description: vSphere cluster names.
        type: list
        elements: str
        default: []
      patterns:
        description: Shell patterns matched against VM names, for example V(web-*).
        type: list
        elements: str
        default: []
  target:
    description:
      - The target in the cluster; its objects are only read (the class, its Trident backends, the VMs already in
        the namespace). Left out, the checks that need it are not made.
    type: dict
    suboptions:
      namespace:
        description: The target namespace; a VirtualMachine of the same target name there is a clash.
        type: str
      storage_class:
        description: The StorageClass the VM disks will use (a Trident class).
        type: str
      trident_namespace:
        description: Where the TridentBackendConfigs live.
        type: str
        default: trident
  ontap:
    description:
      - The ONTAP system behind the class, to check the room on the SVM's aggregates. Left out, no capacity check.
    type: dict
    suboptions:
      management_lif:
        description: Management address, as host, host:port or [IPv6 address]:port.
        type: str
        required: true
      username:
        description:
          - A cluster-scoped account that may read SVMs and aggregates (ONTAP shows aggregate space to cluster
            accounts only, as Trident's C(limitAggregateUsage) also needs), for example a read-only cluster role.
        type: str
        required: true
      password:
        description: Its password.
        type: str
        required: true
      svm:
        description: The SVM the disks go to; only its aggregates count. Left out, every aggregate the account sees.
        type: str
      validate_certs:
        description: Whether to verify ONTAP's certificate.
        type: bool
        default: true
  fix:
    description:
      - What to fix on the selected VMs. V(cbt) enables changed block tracking on each selected VM that lacks it;
        vSphere applies it to the disks after the VM's next power cycle or snapshot (stun and unstun), which warm
        migration needs. The assessment shows the VMs as they were read, before the fix.
    type: list
    elements: str
    choices: [cbt]
    default: []
  waves:
    description:
      - Split the VMs that are not blocked into waves; each is named C(<prefix>-wave-<n>), the name of its plan.
    type: dict
    suboptions:
      prefix:
        description: Prefix of the wave (plan) names.
        type: str
        required: true
      max_vms:
        description: At most this many VMs in a wave.
        type: int
      max_disk_gib:
        description: At most this many GiB of disks in a wave (a single larger VM gets a wave of its own).
        type: float
      max_per_host:
        description: At most this many VMs of one ESXi host in a wave (MTV's in-flight limit is per host).
        type: int
attributes:
  diff_mode:
    support: none
notes:
  - Needs pyVmomi on the host that runs the module to read a vCenter, openpyxl to read O(rvtools).
"""

EXAMPLES = r"""
- name: Assess the team-a folder against the Block RWX class and the SVM, in waves of 20
  ontap.virtualization.migration_assessment:
    vcenter:
      hostname: vcenter.example.com
      username: "{{ vcenter_user }}"
      password: "{{ vcenter_password }}"
    select:
      folders: [/DC0/vm/team-a]
    target:
      namespace: team-a
      storage_class: ontap-san-iscsi
    ontap:
      management_lif: 10.0.0.5
      username: vsadmin
      password: "{{ ontap_password }}"
      svm: svm_virt
    waves:
      prefix: team-a
      max_vms: 20
      max_per_host: 10
  register: assessed

- name: Assess the VMs of an RVTools export against the class, no vCenter access needed
  ontap.virtualization.migration_assessment:
    rvtools: /srv/exports/rvtools-prod.xlsx
    select:
      clusters: [prod]
    target:
      namespace: team-a
      storage_class: ontap-san-iscsi
  register: assessed_export
"""

RETURN = r"""
assessment:
  description: The assessment, per VM with its reasons and fixes.
  returned: always
  type: dict
  contains:
    source:
      description: Where the facts came from, V(vcenter) or V(rvtools).
      type: str
      sample: vcenter
    generated_at:
      description: When the facts were read (UTC, ISO 8601).
      type: str
    round_trips:
      description: vCenter calls the read made (not counting the login); 0 for an RVTools export.
      type: int
    summary:
      description: Counts and totals (total, ready, ready_with_warnings, blocked, cpu, memory_mib, disk_gib).
      type: dict
    vms:
      description: One entry per VM, with name, id, folder, cluster, host, power_state, status, target_name,
        migrated (the target namespace holds the VM Forklift made of it), cpu, memory_mib, disk_gib, datastores,
        networks and reasons (rule, category, message, fix).
      type: list
      elements: dict
    unanswered:
      description: Rules the source cannot answer (empty for a vCenter); they are not checked.
      type: list
      elements: str
waves:
  description:
    - The waves (with O(waves)), each with name, index, vms, hosts, disk_gib, and copy_gib (the disks of its VMs not
      migrated yet, which the ONTAP capacity check counts).
    - A VM already migrated stays in its wave, so a rerun gives the same waves and follows their plans.
  returned: always
  type: list
  elements: dict
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import assessment
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

ARGUMENT_SPEC = dict(
    vcenter=dict(type="dict", mutually_exclusive=[("ca_path", "ca_cert")], options=dict(
        hostname=dict(type="str", required=True),
        port=dict(type="int", default=443),
        username=dict(type="str", required=True),
        password=dict(type="str", required=True, no_log=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        ca_cert=dict(type="str"),
        timeout=dict(type="int", default=60),
    )),
    rvtools=dict(type="path"),
    page_size=dict(type="int", default=500),
    select=dict(type="dict", default={}, options=dict(
        names=dict(type="list", elements="str", default=[]),
        folders=dict(type="list", elements="str", default=[]),
        clusters=dict(type="list", elements="str", default=[]),
        patterns=dict(type="list", elements="str", default=[]),
    )),
    target=dict(type="dict", options=dict(
        namespace=dict(type="str"),
        storage_class=dict(type="str"),
        trident_namespace=dict(type="str", default="trident"),
    )),
    ontap=dict(type="dict", options=dict(
        management_lif=dict(type="str", required=True),
        username=dict(type="str", required=True),
        password=dict(type="str", required=True, no_log=True),
        svm=dict(type="str"),
        validate_certs=dict(type="bool", default=True),
    )),
    fix=dict(type="list", elements="str", choices=["cbt"], default=[]),
    waves=dict(type="dict", options=dict(
        prefix=dict(type="str", required=True),
        max_vms=dict(type="int"),
        max_disk_gib=dict(type="float"),
        max_per_host=dict(type="int"),
    )),
)


def main():
    KubeModule(ARGUMENT_SPEC, wait=False, mutually_exclusive=[("vcenter", "rvtools")],
               required_one_of=[("vcenter", "rvtools")]).run(assessment.run)


if __name__ == "__main__":
    main()
