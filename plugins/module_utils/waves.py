# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Migration waves: the VMs that may go, split by count, total disk size and VMs per ESXi host.

MTV limits the VMs it moves at once per ESXi host (``controller_max_vm_inflight``, per host for
vSphere), so a wave takes at most ``max_per_host`` VMs of one host. The order is stable: VMs are
taken by name, and each goes into the first wave with room, so a rerun over the same inventory
gives the same waves, and each wave's plan name ``<prefix>-wave-<n>`` means the same VMs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils.readiness import BLOCKED, GiB


def wave_name(prefix, index):
    return "{0}-wave-{1}".format(prefix, index)


def plan(rows, prefix, max_vms=None, max_disk_gib=None, max_per_host=None):
    """Waves of the rows that are not blocked: [{name, index, vms, hosts, disk_gib}], first-fit in name order.

    A VM larger than ``max_disk_gib`` alone gets a wave of its own (it cannot be split).
    """
    waves = []
    for row in sorted((r for r in rows if r["status"] != BLOCKED), key=lambda r: (r["name"], r["id"])):
        wave = next((w for w in waves if _fits(w, row, max_vms, max_disk_gib, max_per_host)), None)
        if wave is None:
            wave = {"name": wave_name(prefix, len(waves) + 1), "index": len(waves) + 1, "vms": [], "hosts": [],
                    "disk_gib": 0.0, "copy_gib": 0.0, "_per_host": {}}
            waves.append(wave)
        wave["vms"].append(row["name"])
        wave["_per_host"][row["host"]] = wave["_per_host"].get(row["host"], 0) + 1
        if row["host"] not in wave["hosts"]:
            wave["hosts"].append(row["host"])
        wave["disk_gib"] = round(wave["disk_gib"] + row["disk_gib"], 2)
        if not row.get("migrated"):
            wave["copy_gib"] = round(wave["copy_gib"] + row["disk_gib"], 2)
    for wave in waves:
        del wave["_per_host"]
        wave["hosts"].sort()
    return waves


def _fits(wave, row, max_vms, max_disk_gib, max_per_host):
    if max_vms and len(wave["vms"]) >= max_vms:
        return False
    if max_per_host and wave["_per_host"].get(row["host"], 0) >= max_per_host:
        return False
    return not (max_disk_gib and wave["vms"] and wave["disk_gib"] + row["disk_gib"] > max_disk_gib)


def refuse_overflow(waves, free_bytes):
    """Split ``waves`` into (fitting, refused) against the SVM's free space.

    Waves run one after another and each keeps what it wrote, so wave n needs the disks of
    waves 1..n still to be copied (``copy_gib``: a VM already migrated holds its space already);
    a wave that does not fit, and every later one, is refused with the numbers.
    Returns (fitting waves, [(wave, message)]).
    """
    if free_bytes is None:
        return waves, []
    fitting, refused, used = [], [], 0.0
    free_gib = float(free_bytes) / GiB
    for wave in waves:
        if refused or used + wave["copy_gib"] > free_gib:
            refused.append((wave, "Wave {0} ({1}) needs {2} GiB after {3} GiB for the waves before it; the SVM's "
                                  "aggregates have {4} GiB free.".format(wave["index"], wave["name"], wave["copy_gib"],
                                                                         round(used, 2), round(free_gib, 2))))
            continue
        used += wave["copy_gib"]
        fitting.append(wave)
    return fitting, refused
