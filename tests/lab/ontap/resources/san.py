"""SAN: LUNs with their attributes, initiator groups with their initiators, and LUN maps."""

import re

from netapp_ontap.resources import Igroup, IgroupInitiator, Lun, LunAttribute, LunMap, LunMapReportingNode

from .. import errors
from ..resource import Resource, flag, get_path, merge, now, rename_refs
from . import block

_IGROUP_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,96}$")
_IQN = re.compile(r"^iqn\.\d{4}-\d{2}\.[a-z0-9.-]+(:.+)?$", re.IGNORECASE)
_EUI = re.compile(r"^eui\.[0-9a-f]{16}$", re.IGNORECASE)
_WWPN = re.compile(r"^([0-9a-f]{2}:){7}[0-9a-f]{2}$", re.IGNORECASE)


def _entry(entries: list, key: str, row: dict) -> dict:
    """The stored entry behind a row of an embedded collection (initiators, attributes)."""
    return next(e for e in entries if e[key] == row[key])


def _maps_of(ctx, kind: str, uuid: str) -> list:
    return [m for m in ctx.table("lun_maps") if m[kind]["uuid"] == uuid]


class Luns(Resource):
    ontap = Lun
    table = "luns"
    extra_params = {"DELETE": frozenset({"allow_delete_while_mapped"})}

    def view(self, ctx, record):
        view = super().view(ctx, record)
        maps = _maps_of(ctx, "lun", record["uuid"])
        view["status"]["mapped"] = bool(maps)
        view["lun_maps"] = [{"igroup": m["igroup"], "logical_unit_number": m["logical_unit_number"]} for m in maps]
        return view

    def create(self, ctx, parent, body, params):
        svm = ctx.svm(body.get("svm"))
        volume, path = block.locate(ctx, svm, body, "logical_unit")
        if any(lun["name"] == path and lun["svm"]["uuid"] == svm["uuid"] for lun in ctx.table("luns")):
            raise errors.OperationFailed(errors.LUN_ALREADY_EXISTS, f'A LUN named "{path}" already exists.', 409)
        record = {"uuid": ctx.new_uuid(), "name": path, "svm": ctx.resources["svms"].ref(svm),
                  "location": {"volume": ctx.resources["volumes"].ref(volume),
                               "logical_unit": path.rsplit("/", 1)[1]},
                  "class": "regular", "enabled": True, "comment": "", "serial_number": block.new_serial(),
                  "create_time": now(),
                  "space": {"used": 0, "guarantee": {"requested": False},
                            "scsi_thin_provisioning_support_enabled": False},
                  "status": {"state": "online", "container_state": "online", "read_only": False}}
        source = get_path(body, "clone.source")
        if source:
            original = ctx.require("luns", source, "clone.source.name", **{"location.volume.uuid": volume["uuid"]})
            merge(record, {"os_type": original["os_type"], "space": {"size": original["space"]["size"]}})
        maps = body.get("lun_maps") or []
        merge(record, {k: v for k, v in body.items()
                       if k not in ("name", "svm", "location", "clone", "provisioning_options", "lun_maps")})
        for required in ("os_type", "space.size"):
            if get_path(record, required) is None:
                raise errors.missing(required)
        record["space"]["guarantee"]["reserved"] = record["space"]["guarantee"]["requested"]
        block.require_room(ctx, volume, "LUN", record)
        ctx.table("luns").append(record)
        for wanted in maps:
            map_lun(ctx, svm, record, wanted.get("igroup"), wanted.get("logical_unit_number"))
        return record

    def modify(self, ctx, parent, record, body, params):
        changes = dict(body)
        volume = ctx.lookup("volumes", {"uuid": record["location"]["volume"]["uuid"]})
        if "name" in changes or "location" in changes:
            new_volume, path = block.locate(ctx, ctx.lookup("svms", record["svm"]), {
                "name": changes.pop("name", None),
                "location": changes.pop("location", None) or {"volume": {"uuid": volume["uuid"]}}}, "logical_unit")
            if new_volume["uuid"] != volume["uuid"]:
                raise errors.OperationFailed(errors.NOT_SUPPORTED, "The lab's ONTAP stand-in only renames LUNs "
                                                                   "within their volume.")
            if path != record["name"] and any(lun["name"] == path for lun in ctx.table("luns")):
                raise errors.OperationFailed(errors.LUN_ALREADY_EXISTS, f'A LUN named "{path}" already exists.', 409)
            record["name"], record["location"]["logical_unit"] = path, path.rsplit("/", 1)[1]
            rename_refs(ctx.store.data["tables"], "lun", record["uuid"], path)
        size = get_path(changes, "space.size")
        if size is not None and size == record["space"]["size"]:
            raise errors.OperationFailed(errors.INVALID, "New LUN size is the same as the old LUN size.")
        merge(record, changes)
        record["space"]["guarantee"]["reserved"] = record["space"]["guarantee"]["requested"]
        block.require_room(ctx, volume, "LUN", record, exclude=record["uuid"])

    def delete(self, ctx, parent, record, params):
        maps = _maps_of(ctx, "lun", record["uuid"])
        if maps and not flag(params, "allow_delete_while_mapped"):
            raise errors.OperationFailed(errors.IN_USE, f'LUN "{record["name"]}" is mapped; unmap it first or set '
                                                         f'allow_delete_while_mapped.')
        for lun_map in maps:
            ctx.table("lun_maps").remove(lun_map)
        ctx.table("luns").remove(record)


class LunAttributes(Resource):
    """Name/value pairs on a LUN; Trident keeps its driver context there."""

    ontap = LunAttribute
    table = "lun_attributes"  # a view of luns[].attributes
    default_fields = ("name", "value")
    owner = None  # scoped through the parent LUN
    parent_table = "luns"

    def rows(self, ctx, parent):
        return [dict(a, lun=ctx.resources["luns"].ref(parent, keys=("uuid",))) for a in parent.get("attributes", [])]

    def create(self, ctx, parent, body, params):
        for required in ("name", "value"):
            if not body.get(required):
                raise errors.missing(required)
        attributes = parent.setdefault("attributes", [])
        if any(a["name"] == body["name"] for a in attributes):
            raise errors.duplicate(f'LUN "{parent["name"]}" already has an attribute "{body["name"]}".', "name")
        attributes.append({"name": body["name"], "value": body["value"]})
        return self.rows(ctx, parent)[-1]

    def modify(self, ctx, parent, record, body, params):
        _entry(parent["attributes"], "name", record)["value"] = body.get("value", record["value"])

    def delete(self, ctx, parent, record, params):
        parent["attributes"].remove(_entry(parent["attributes"], "name", record))


def _check_initiator(name: str, protocol: str) -> None:
    if _WWPN.match(name):
        kind = "fcp"
    elif _IQN.match(name) or _EUI.match(name):
        kind = "iscsi"
    else:
        raise errors.invalid_value("initiators.name", name, "an iSCSI name (iqn. or eui.) or an FC WWPN")
    if protocol not in ("mixed", kind):
        raise errors.OntapError(400, errors.INVALID_CONTEXT, f'Initiator "{name}" does not match the {protocol} '
                                                             f'protocol of the initiator group.', "initiators.name")


class Igroups(Resource):
    ontap = Igroup
    table = "igroups"
    extra_params = {"DELETE": frozenset({"allow_delete_while_mapped"})}

    def view(self, ctx, record):
        view = super().view(ctx, record)
        view["lun_maps"] = [{"lun": m["lun"], "logical_unit_number": m["logical_unit_number"]}
                            for m in _maps_of(ctx, "igroup", record["uuid"])]
        return view

    def create(self, ctx, parent, body, params):
        svm = ctx.svm(body.get("svm"))
        name = body.get("name")
        if not name:
            raise errors.missing("name")
        if not _IGROUP_NAME.match(name):
            raise errors.invalid_value("name", name, "1 to 96 letters, digits, '_', '.', ':' or '-'")
        if not body.get("os_type"):
            raise errors.missing("os_type")
        if body.get("igroups") or body.get("portset"):
            raise errors.OperationFailed(errors.NOT_SUPPORTED, "Nested initiator groups and port sets are not "
                                                               "supported by the lab's ONTAP stand-in.")
        if any(g["name"] == name and g["svm"]["uuid"] == svm["uuid"] for g in ctx.table("igroups")):
            raise errors.duplicate(f'Initiator group "{name}" already exists in SVM "{svm["name"]}".', "name")
        record = {"uuid": ctx.new_uuid(), "name": name, "svm": ctx.resources["svms"].ref(svm), "protocol": "mixed",
                  "comment": "", "delete_on_unmap": False, "supports_igroups": True, "initiators": []}
        merge(record, {k: v for k, v in body.items() if k not in ("name", "svm", "initiators")})
        for initiator in body.get("initiators") or []:
            _add_initiator(record, initiator)
        ctx.table("igroups").append(record)
        return record

    def modify(self, ctx, parent, record, body, params):
        changes = dict(body)
        new = changes.pop("name", record["name"])
        if new != record["name"]:
            if any(g["name"] == new and g["svm"]["uuid"] == record["svm"]["uuid"] for g in ctx.table("igroups")):
                raise errors.duplicate(f'Initiator group "{new}" already exists.', "name")
            record["name"] = new
            rename_refs(ctx.store.data["tables"], "igroup", record["uuid"], new)
        merge(record, changes)

    def delete(self, ctx, parent, record, params):
        maps = _maps_of(ctx, "igroup", record["uuid"])
        if maps and not flag(params, "allow_delete_while_mapped"):
            raise errors.OperationFailed(errors.IN_USE, f'Initiator group "{record["name"]}" has LUNs mapped; '
                                                         f'unmap them first or set allow_delete_while_mapped.')
        for lun_map in maps:
            ctx.table("lun_maps").remove(lun_map)
        ctx.table("igroups").remove(record)


def _add_initiator(igroup: dict, initiator: dict) -> dict:
    name = initiator.get("name")
    if not name:
        raise errors.missing("name")
    _check_initiator(name, igroup["protocol"])
    if any(i["name"].lower() == name.lower() for i in igroup["initiators"]):
        raise errors.duplicate(f'Initiator "{name}" is already in initiator group "{igroup["name"]}".', "name")
    entry = {"name": name, **{k: v for k, v in initiator.items() if k not in ("name", "igroup")}}
    igroup["initiators"].append(entry)
    return entry


class IgroupInitiators(Resource):
    ontap = IgroupInitiator
    table = "igroup_initiators"  # a view of igroups[].initiators
    default_fields = ("name",)
    owner = None  # scoped through the parent igroup
    parent_table = "igroups"
    extra_params = {"DELETE": frozenset({"allow_delete_while_mapped"})}

    def rows(self, ctx, parent):
        return [dict(entry, igroup=ctx.resources["igroups"].ref(parent)) for entry in parent["initiators"]]

    def create(self, ctx, parent, body, params):
        wanted = body.get("records") or [body]
        added = [_add_initiator(parent, {k: v for k, v in item.items() if k != "igroup"}) for item in wanted]
        return next(row for row in self.rows(ctx, parent) if row["name"] == added[0]["name"])

    def modify(self, ctx, parent, record, body, params):
        merge(_entry(parent["initiators"], "name", record), body)

    def delete(self, ctx, parent, record, params):
        if _maps_of(ctx, "igroup", parent["uuid"]) and not flag(params, "allow_delete_while_mapped"):
            raise errors.OperationFailed(errors.IN_USE, f'Initiator group "{parent["name"]}" has LUNs mapped; set '
                                                         f'allow_delete_while_mapped to remove an initiator.')
        parent["initiators"].remove(_entry(parent["initiators"], "name", record))


def map_lun(ctx, svm: dict, lun: dict, wanted_igroup: dict | None, number: int | None) -> dict:
    igroup = ctx.require("igroups", wanted_igroup, "igroup.name", **{"svm.uuid": svm["uuid"]})
    if any(m["lun"]["uuid"] == lun["uuid"] for m in _maps_of(ctx, "igroup", igroup["uuid"])):
        raise errors.OperationFailed(errors.LUN_MAP_EXISTS, f'LUN "{lun["name"]}" is already mapped to initiator '
                                                            f'group "{igroup["name"]}".', 409)
    used = {m["logical_unit_number"] for m in _maps_of(ctx, "igroup", igroup["uuid"])}
    if number is None:
        number = next(n for n in range(4096) if n not in used)
    elif number in used or not 0 <= number < 4096:
        raise errors.OperationFailed(errors.INVALID, f"Logical unit number {number} is not available in initiator "
                                                     f'group "{igroup["name"]}".')
    volume = ctx.lookup("volumes", lun["location"]["volume"])
    aggregate = ctx.lookup("aggregates", volume["aggregates"][0])
    lun_map = {"svm": ctx.resources["svms"].ref(svm), "lun": ctx.resources["luns"].ref(lun),
               "igroup": ctx.resources["igroups"].ref(igroup), "logical_unit_number": number,
               "reporting_nodes": _reporting_nodes(ctx, aggregate["node"]["uuid"])}
    ctx.table("lun_maps").append(lun_map)
    return lun_map


def _reporting_nodes(ctx, owner_uuid: str) -> list:
    """Selective LUN Map: the node owning the LUN and its HA partner."""
    owner = ctx.lookup("nodes", {"uuid": owner_uuid})
    partners = [ctx.lookup("nodes", p) for p in owner["ha"]["partners"]]
    return [ctx.resources["nodes"].ref(n) for n in [owner, *partners]]


class LunMapReportingNodes(Resource):
    """The nodes a LUN map reports paths through (Selective LUN Map). The lab's only HA pair
    always reports, so this is read-only here."""

    ontap = LunMapReportingNode
    table = "lun_map_reporting_nodes"  # a view of lun_maps[].reporting_nodes
    owner = None  # scoped through the parent map
    parent_table = "lun_maps"

    def rows(self, ctx, parent):
        lun, igroup = (ctx.resources[t].ref(parent[k], keys=("uuid",)) for t, k in (("luns", "lun"),
                                                                                    ("igroups", "igroup")))
        return [dict(node, lun=lun, igroup=igroup) for node in parent["reporting_nodes"]]


class LunMaps(Resource):
    ontap = LunMap
    table = "lun_maps"
    default_fields = ("svm.name", "svm.uuid", "lun.name", "lun.uuid", "igroup.name", "igroup.uuid",
                      "logical_unit_number")

    def create(self, ctx, parent, body, params):
        svm = ctx.svm(body.get("svm"))
        lun = ctx.require("luns", body.get("lun"), "lun.name", **{"svm.uuid": svm["uuid"]})
        return map_lun(ctx, svm, lun, body.get("igroup"), body.get("logical_unit_number"))

    def delete(self, ctx, parent, record, params):
        ctx.table("lun_maps").remove(record)
        igroup = ctx.lookup("igroups", record["igroup"])
        if igroup["delete_on_unmap"] and not _maps_of(ctx, "igroup", igroup["uuid"]):
            ctx.table("igroups").remove(igroup)
