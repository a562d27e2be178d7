"""IP interfaces (LIFs). The lab seeds data LIFs; their addresses are loopback and only data."""

from netapp_ontap.resources import IpInterface

from ..resource import Resource, href, ref

# What each data protocol's default service policy grants, as in ONTAP 9.16.
SERVICE_POLICIES = {
    "nfs": ("default-data-files", ["data_core", "data_nfs", "data_cifs", "data_flexcache"]),
    "iscsi": ("default-data-blocks", ["data_core", "data_iscsi"]),
    "nvme_tcp": ("default-data-nvme-tcp", ["data_core", "data_nvme_tcp"]),
}


class IpInterfaces(Resource):
    ontap = IpInterface
    table = "ip_interfaces"


def default_ipspace(ctx) -> dict:
    """The lab has ONTAP's one built-in IPspace only."""
    uuid = ctx.store.meta["ipspace_uuid"]
    return ref({"name": "Default", "uuid": uuid}, href("network", "ipspaces", uuid))


def lif_record(ctx, svm: dict, name: str, address: str, node: dict, protocol: str) -> dict:
    policy, services = SERVICE_POLICIES[protocol]
    node_ref = ctx.resources["nodes"].ref(node)
    port = {"name": "e0d", "node": {"name": node["name"]}}
    return {
        "uuid": ctx.new_uuid(),
        "name": name,
        "svm": ctx.resources["svms"].ref(svm),
        "ip": {"address": address, "netmask": "24", "family": "ipv4"},
        "enabled": True,
        "state": "up",
        "scope": "svm",
        "vip": False,
        "services": list(services),
        "service_policy": {"name": policy},
        "ipspace": default_ipspace(ctx),
        "location": {"home_node": node_ref, "node": dict(node_ref), "home_port": port, "port": dict(port),
                     "is_home": True, "auto_revert": False, "failover": "broadcast_domain_only"},
    }
