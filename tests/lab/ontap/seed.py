"""The lab's starting ONTAP: a two-node cluster, two SVMs, data LIFs and three accounts.

svm_virt serves VM disks over NFS, iSCSI and NVMe/TCP; svm_nas is NFS only (iSCSI and NVMe
not allowed), so tests can see a protocol refused. Data LIF addresses are loopback addresses:
nothing listens on them, they are data for Trident and the playbooks to read.
Passwords are generated per lab and kept beside the state (credentials.json, mode 0600),
because endpoint.json is rewritten from them at every start.
"""

import json
import random
import secrets
from pathlib import Path

from . import auth
from .resource import Context, now
from .resources import cluster, network, security, storage, svms

CREDENTIALS_FILE = "credentials.json"
CLUSTER_NAME = "ontap-lab"
NODES = ("ontap-lab-01", "ontap-lab-02")
AGGREGATES = (("aggr1", 0), ("aggr2", 1))
AGGREGATE_SIZE = 4 * 1024 ** 4
SVMS = {
    "svm_virt": {"protocols": ("nfs", "iscsi", "nvme"),
                 "lifs": {"nfs": ("127.0.10.1", "127.0.10.2"), "iscsi": ("127.0.10.11", "127.0.10.12"),
                          "nvme_tcp": ("127.0.10.21", "127.0.10.22")}},
    "svm_nas": {"protocols": ("nfs",),
                "lifs": {"nfs": ("127.0.20.1", "127.0.20.2")}},
}
SCHEDULES = {
    "5min": {"minutes": [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]},
    "8hour": {"hours": [2, 10, 18], "minutes": [15]},
    "daily": {"hours": [0], "minutes": [10]},
    "hourly": {"minutes": [5]},
    "weekly": {"weekdays": [0], "hours": [0], "minutes": [15]},
}
SNAPSHOT_POLICIES = {
    "default": ([{"count": 6, "schedule": {"name": "hourly"}, "prefix": "hourly"},
                 {"count": 2, "schedule": {"name": "daily"}, "prefix": "daily"},
                 {"count": 2, "schedule": {"name": "weekly"}, "prefix": "weekly"}], "Default policy with hourly, "
                                                                                    "daily & weekly schedules."),
    "default-1weekly": ([{"count": 6, "schedule": {"name": "hourly"}, "prefix": "hourly"},
                         {"count": 2, "schedule": {"name": "daily"}, "prefix": "daily"},
                         {"count": 1, "schedule": {"name": "weekly"}, "prefix": "weekly"}],
                        "Default policy with 6 hourly, 2 daily & 1 weekly schedule."),
    "none": ([], "Policy for no automatic snapshots."),
}
# Trident's least-privilege REST role (NetApp/trident contrib/ontap/trident_role/raw/rest_custom_role.json).
TRIDENT_PRIVILEGES = [
    ("/api/application/consistency-groups", "all"), ("/api/application/consistency-groups/snapshots", "read_create"),
    ("/api/cluster", "readonly"), ("/api/cluster/jobs", "readonly"), ("/api/cluster/nodes", "readonly"),
    ("/api/cluster/schedules", "readonly"), ("/api/network/fc/interfaces", "readonly"),
    ("/api/network/ip/interfaces", "readonly"), ("/api/protocols/nfs/export-policies", "all"),
    ("/api/protocols/nfs/export-policies/rules", "all"), ("/api/protocols/nvme/subsystem-maps", "all"),
    ("/api/protocols/nvme/subsystems", "all"), ("/api/protocols/nvme/subsystems/hosts", "all"),
    ("/api/protocols/san/fcp/services", "readonly"), ("/api/protocols/san/igroups", "all"),
    ("/api/protocols/san/igroups/initiators", "all"), ("/api/protocols/san/iscsi/credentials", "read_modify"),
    ("/api/protocols/san/iscsi/services", "readonly"), ("/api/protocols/san/lun-maps", "all"),
    ("/api/protocols/san/lun-maps/reporting-nodes", "all"), ("/api/snapmirror/policies", "readonly"),
    ("/api/snapmirror/relationships", "all"), ("/api/storage/aggregates", "readonly"),
    ("/api/storage/luns", "all"), ("/api/storage/luns/attributes", "read_create_modify"),
    ("/api/storage/namespaces", "all"), ("/api/storage/qtrees", "all"),
    ("/api/storage/quota/rules", "read_create_modify"), ("/api/storage/volumes", "all"),
    ("/api/storage/volumes/snapshots", "all"), ("/api/support/ems/application-logs", "read_create"),
    ("/api/svm/peers", "readonly"), ("/api/svm/svms", "readonly"),
]


def _password() -> str:
    return f"Lab{secrets.token_hex(8)}7"


def seed(store, state_dir: Path, resources: dict) -> None:
    """Fill an empty store and write the credentials it was seeded with."""
    cluster_mac = random.getrandbits(48) & ~(1 << 40)  # a unicast address, like a node's port
    store.reset({"tables": {}, "secrets": {}, "meta": {"mac": cluster_mac}})
    operator = auth.Principal({"name": "seed"}, {"privileges": [{"path": "DEFAULT", "access": "all"}]}, None)
    ctx = Context(store, operator, resources)
    created = now()
    store.meta["ipspace_uuid"] = store.new_uuid()
    ctx.table("cluster").append(cluster.cluster_record(store.new_uuid(), CLUSTER_NAME))
    uuids = [store.new_uuid() for _ in NODES]
    for index, name in enumerate(NODES):
        partner = {"name": NODES[1 - index], "uuid": uuids[1 - index]}
        ctx.table("nodes").append(cluster.node_record(uuids[index], name, index + 1, partner, created))
    for name, node_index in AGGREGATES:
        node = ctx.resources["nodes"].ref(ctx.table("nodes")[node_index])
        ctx.table("aggregates").append(storage.aggregate_record(store.new_uuid(), name, node, AGGREGATE_SIZE,
                                                                created))
    for name, cron in SCHEDULES.items():
        ctx.table("schedules").append(cluster.schedule_record(store.new_uuid(), name, cron))
    for name, (copies, comment) in SNAPSHOT_POLICIES.items():
        ctx.table("snapshot_policies").append(storage.snapshot_policy_record(store.new_uuid(), name, copies, comment))
    security.create_builtin_cluster_roles(ctx)

    for svm_name, spec in SVMS.items():
        body = {"aggregates": [{"name": name} for name, _ in AGGREGATES]}
        for protocol in svms.PROTOCOLS:
            on = protocol in spec["protocols"]
            body[protocol] = {"allowed": True, "enabled": True} if on else {"allowed": False}
        svm = svms.create_svm(ctx, svm_name, body)
        for protocol, addresses in spec["lifs"].items():
            for index, address in enumerate(addresses):
                ctx.table("ip_interfaces").append(network.lif_record(
                    ctx, svm, f"{svm_name}_{protocol}_{index + 1:02d}", address, ctx.table("nodes")[index], protocol))

    cluster_owner, _ = security.owner_ref(ctx, None)
    virt = ctx.resources["svms"].ref(ctx.lookup("svms", {"name": "svm_virt"}))
    security.create_role(ctx, "trident", virt, "svm", [{"path": p, "access": a} for p, a in TRIDENT_PRIVILEGES])
    credentials = {"cluster_admin": {"username": "admin", "password": _password()},
                   "svm_admin": {"username": "vsadmin", "password": _password(), "svm": "svm_virt"},
                   "trident": {"username": "trident", "password": _password(), "svm": "svm_virt"}}
    security.create_account(ctx, "admin", cluster_owner, "cluster", "admin", credentials["cluster_admin"]["password"])
    security.create_account(ctx, "vsadmin", virt, "svm", "vsadmin", credentials["svm_admin"]["password"])
    security.create_account(ctx, "trident", virt, "svm", "trident", credentials["trident"]["password"])
    path = Path(state_dir) / CREDENTIALS_FILE
    path.write_text(json.dumps(credentials, indent=2) + "\n")
    path.chmod(0o600)
    store.save()  # last: a state file on disk means the seed is complete


def credentials(state_dir: Path) -> dict:
    return json.loads((Path(state_dir) / CREDENTIALS_FILE).read_text())
