"""Storage VMs: their allowed protocols, aggregates and the objects every SVM is born with."""

import re

from netapp_ontap.resources import Svm

from .. import errors
from ..resource import Resource, merge, rename_refs
from . import nas, network, security, services, volumes

PROTOCOLS = ("nfs", "cifs", "iscsi", "fcp", "nvme", "s3", "ndmp")
_ALLOWED_BY_DEFAULT = {"nfs", "cifs", "iscsi", "fcp", "nvme"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,46}$")


class Svms(Resource):
    ontap = Svm
    table = "svms"
    owner = "uuid"
    svm_methods = frozenset({"GET", "PATCH"})
    async_methods = frozenset({"POST", "PATCH", "DELETE"})

    def view(self, ctx, record):
        view = super().view(ctx, record)
        for protocol in PROTOCOLS:
            if protocol == "ndmp":  # ONTAP reports NDMP as allowed or not, never as enabled
                continue
            service = services.find(ctx, protocol, record["uuid"])
            view[protocol]["enabled"] = bool(service and service["enabled"])
            if service:
                view[protocol]["_links"] = {"self": {"href": services.service_href(protocol, record["uuid"])}}
        view["ip_interfaces"] = [
            dict(ctx.resources["ip_interfaces"].ref(lif), ip={"address": lif["ip"]["address"]},
                 services=lif["services"])
            for lif in ctx.table("ip_interfaces") if lif["svm"]["uuid"] == record["uuid"]]
        return view

    def create(self, ctx, parent, body, params):
        name = body.get("name")
        if not name:
            raise errors.missing("name")
        if not _NAME.match(name):
            raise errors.invalid_value("name", name, "a letter or underscore, then up to 46 letters, digits, "
                                                     "'_', '.' or '-'")
        if body.get("ipspace") and body["ipspace"].get("name", "Default") != "Default":
            raise errors.OntapError(404, errors.ENTRY_DOESNT_EXIST,
                                    f'IPspace "{body["ipspace"]["name"]}" does not exist.', "ipspace.name")
        if ctx.lookup("svms", {"name": name}):
            raise errors.OperationFailed(errors.DUPLICATE_ENTRY, f'Duplicate SVM name "{name}".')
        return create_svm(ctx, name, body)

    def modify(self, ctx, parent, record, body, params):
        changes = dict(body)
        if "name" in changes:
            new = changes.pop("name")
            if new != record["name"] and ctx.lookup("svms", {"name": new}):
                raise errors.OperationFailed(errors.DUPLICATE_ENTRY, f'Duplicate SVM name "{new}".')
            record["name"] = new
            for kind in ("svm", "owner", "parent_svm"):
                rename_refs(ctx.store.data["tables"], kind, record["uuid"], new)
        _apply(ctx, record, changes)

    def delete(self, ctx, parent, record, params):
        uuid = record["uuid"]
        data_volumes = [v["name"] for v in ctx.table("volumes") if v["svm"]["uuid"] == uuid and not v["is_svm_root"]]
        if data_volumes:
            raise errors.OperationFailed(errors.IN_USE, f'Cannot delete SVM "{record["name"]}" because it contains '
                                                         f'volumes: {", ".join(sorted(data_volumes))}.')
        # What it owns goes with it (root volume, LIFs, policies, services, roles, accounts); jobs stay.
        for name, rows in ctx.store.data["tables"].items():
            if name != "jobs":
                rows[:] = [r for r in rows if not _owned_by(r, uuid)]
        for key in [k for k in ctx.store.secrets if k.startswith(f"{uuid}/")]:
            del ctx.store.secrets[key]
        ctx.table("svms").remove(record)


def _owned_by(record: dict, svm_uuid: str) -> bool:
    return any(isinstance(record.get(key), dict) and record[key].get("uuid") == svm_uuid for key in ("svm", "owner"))


def create_svm(ctx, name: str, body: dict) -> dict:
    """A new SVM with its root volume, default export policy and built-in roles."""
    record = {
        "uuid": ctx.new_uuid(),
        "name": name,
        "subtype": "default",
        "state": "running",
        "language": "c.utf_8",
        "comment": "",
        "ipspace": network.default_ipspace(ctx),
        "snapshot_policy": volumes.snapshot_policy_ref(ctx, {"name": "default"}),
        "aggregates": [],
        "max_volumes": "unlimited",
        "auto_enable_analytics": False,
        "auto_enable_activity_tracking": False,
        "anti_ransomware_default_volume_state": "disabled",
        "is_space_reporting_logical": False,
        "is_space_enforcement_logical": False,
    }
    for protocol in PROTOCOLS:
        record[protocol] = {"allowed": protocol in _ALLOWED_BY_DEFAULT}
    ctx.table("svms").append(record)
    body = {k: v for k, v in body.items() if k not in ("name", "ipspace")}
    _apply(ctx, record, body)
    root_aggregate = (ctx.lookup("aggregates", record["aggregates"][0]) if record["aggregates"]
                      else ctx.table("aggregates")[0])
    nas.create_export_policy(ctx, record, "default")
    volumes.create_root_volume(ctx, record, root_aggregate)
    security.create_builtin_svm_roles(ctx, record)
    return record


def _apply(ctx, record: dict, changes: dict) -> None:
    """Settings shared by POST and PATCH."""
    changes = dict(changes)
    if "aggregates" in changes:
        record["aggregates"] = [ctx.resources["aggregates"].ref(ctx.require("aggregates", a, "aggregates.name"))
                                for a in changes.pop("aggregates") or []]
    if "snapshot_policy" in changes:
        record["snapshot_policy"] = volumes.snapshot_policy_ref(ctx, changes.pop("snapshot_policy"))
    for protocol in PROTOCOLS:
        wanted = changes.pop(protocol, None)
        if not wanted:
            continue
        if "allowed" in wanted:
            if not wanted["allowed"] and services.find(ctx, protocol, record["uuid"]):
                raise errors.OperationFailed(
                    errors.IN_USE, f'Cannot disallow protocol "{protocol}" on SVM "{record["name"]}" while its '
                                   f'service exists; delete the {protocol} service first.')
            record[protocol]["allowed"] = wanted["allowed"]
        if wanted.get("enabled") is not None:
            services.set_enabled(ctx, protocol, record, wanted["enabled"])
    merge(record, changes)
