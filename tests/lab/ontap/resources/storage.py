"""Aggregates (local tiers) and snapshot policies."""

from netapp_ontap.resources import Aggregate, SnapshotPolicy

from .. import capacity
from ..resource import Resource


class Aggregates(Resource):
    ontap = Aggregate
    table = "aggregates"
    owner = None
    svm_methods = frozenset()

    def view(self, ctx, record):
        view = super().view(ctx, record)
        block = view["space"]["block_storage"]
        block["used"] = capacity.aggregate_used(ctx, record["uuid"])
        block["available"] = block["size"] - block["used"]
        block["used_percent"] = block["used"] * 100 // block["size"]
        view["volume-count"] = sum(v["aggregates"][0]["uuid"] == record["uuid"] for v in ctx.table("volumes"))
        return view


class SnapshotPolicies(Resource):
    ontap = SnapshotPolicy
    table = "snapshot_policies"
    owner = None
    svm_methods = frozenset({"GET"})


def aggregate_record(uuid: str, name: str, node: dict, size: int, created: str) -> dict:
    return {
        "name": name,
        "uuid": uuid,
        "node": node,
        "home_node": node,
        "state": "online",
        "create_time": created,
        "snaplock_type": "non_snaplock",
        "is_spare_low": False,
        "space": {"block_storage": {"size": size, "full_threshold_percent": 98}},
        "block_storage": {
            "primary": {"disk_count": 12, "disk_class": "solid_state", "disk_type": "ssd",
                        "raid_type": "raid_dp", "raid_size": 24, "checksum_style": "block"},
            "hybrid_cache": {"enabled": False},
            "mirror": {"enabled": False, "state": "unmirrored"},
            "storage_type": "ssd",
        },
        "data_encryption": {"software_encryption_enabled": False, "drive_protection_enabled": False},
    }


def snapshot_policy_record(uuid: str, name: str, copies: list, comment: str) -> dict:
    return {"name": name, "uuid": uuid, "enabled": bool(copies), "comment": comment, "scope": "cluster",
            "copies": copies}
