"""FlexVol volumes (including FlexClones) and their snapshots; both answer asynchronously."""

import copy
import datetime
import re

from netapp_ontap.resources import Snapshot, Volume

from .. import capacity, errors
from ..resource import Resource, get_path, merge, now, rename_refs
from . import block, nas

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,202}$")
_SNAPSHOT_NAME = re.compile(r"^[^\s/]{1,255}$")
_WRITES = frozenset({"POST", "PATCH", "DELETE"})
_DEFAULT_SIZE = capacity.MIN_VOLUME_SIZE  # ONTAP's default too
_ROOT_SIZE = 1024 ** 3


def snapshot_policy_ref(ctx, wanted: dict | None) -> dict:
    policy = ctx.require("snapshot_policies", wanted, "snapshot_policy.name")
    return ctx.resources["snapshot_policies"].ref(policy)


def create_root_volume(ctx, svm: dict, aggregate: dict) -> dict:
    """Every SVM's namespace root: mounted at "/", where data volumes are junctioned."""
    volume = _new_volume(ctx, svm, f"{svm['name']}_root", aggregate, _ROOT_SIZE)
    volume["is_svm_root"] = True
    volume["nas"]["path"] = "/"
    ctx.table("volumes").append(volume)
    return volume


def _new_volume(ctx, svm: dict, name: str, aggregate: dict, size: int) -> dict:
    return {
        "uuid": ctx.new_uuid(),
        "name": name,
        "svm": ctx.resources["svms"].ref(svm),
        "aggregates": [ctx.resources["aggregates"].ref(aggregate)],
        "size": size,
        "type": "rw",
        "style": "flexvol",
        "state": "online",
        "comment": "",
        "language": svm["language"],
        "create_time": now(),
        "is_svm_root": False,
        "guarantee": {"type": "volume", "honored": True},
        "snapshot_policy": copy.deepcopy(svm["snapshot_policy"]),
        "space": {"snapshot": {"reserve_percent": 5},
                  "logical_space": {"enforcement": False, "reporting": False},
                  "nearly_full_threshold_percent": 95, "full_threshold_percent": 98,
                  "large_size_enabled": False},
        "nas": {"security_style": "unix", "unix_permissions": 755, "uid": 0, "gid": 0,
                "export_policy": nas.policy_ref(ctx, svm, {"name": "default"})},
        "encryption": {"enabled": False, "state": "none", "type": "none"},
        "efficiency": {"compression": "none", "compaction": "none", "dedupe": "none",
                       "cross_volume_dedupe": "none"},
        "tiering": {"policy": "none"},
        "autosize": {"mode": "off"},
        "files": {"maximum": min(size // 32768, 2 ** 31 - 1)},
        "snapshot_directory_access_enabled": True,
        "access_time_enabled": True,
        "clone": {"is_flexclone": False},
        "snaplock": {"type": "non_snaplock"},
        "anti_ransomware": {"state": "disabled"},
        "snapmirror": {"is_protected": False},
    }


def _node_of(ctx, aggregate_ref: dict) -> str:
    return ctx.lookup("aggregates", {"uuid": aggregate_ref["uuid"]})["node"]["name"]


class Volumes(Resource):
    ontap = Volume
    table = "volumes"
    async_methods = _WRITES
    extra_params = {"PATCH": frozenset({"sizing_method"})}

    def view(self, ctx, record):
        view = super().view(ctx, record)
        data = capacity.data_capacity(record)
        used = capacity.reserved_in_volume(ctx, record)
        available = data - used
        if record["guarantee"]["type"] != "volume":
            aggregate = ctx.lookup("aggregates", {"uuid": record["aggregates"][0]["uuid"]})
            available = min(available, capacity.aggregate_available(ctx, aggregate))
        merge(view["space"], {"size": record["size"], "used": used, "available": max(available, 0),
                              "afs_total": data, "snapshot": {"used": 0, "reserve_size": record["size"] - data}})
        view["clone"]["has_flexclone"] = any(_is_clone_of(v, record) for v in ctx.table("volumes"))
        view["snapshot_count"] = sum(s["volume"]["uuid"] == record["uuid"] for s in ctx.table("snapshots"))
        view["files"]["used"] = 96
        return view

    def create(self, ctx, parent, body, params):
        name = body.get("name")
        if not name:
            raise errors.missing("name")
        if not _NAME.match(name):
            raise errors.invalid_value("name", name, "a letter or underscore, then letters, digits or underscores")
        svm = ctx.svm(body.get("svm"))
        if any(v["name"] == name and v["svm"]["uuid"] == svm["uuid"] for v in ctx.table("volumes")):
            raise errors.OperationFailed(errors.DUPLICATE_ENTRY, f'Duplicate volume name "{name}".')
        settings = {k: v for k, v in body.items() if k not in ("name", "svm")}
        if (settings.get("clone") or {}).get("parent_volume"):
            volume = _clone(ctx, svm, name, settings)
        else:
            volume = _create(ctx, svm, name, settings)
        capacity.check_volume_fits(ctx, ctx.lookup("aggregates", {"uuid": volume["aggregates"][0]["uuid"]}),
                                   volume, _node_of(ctx, volume["aggregates"][0]))
        ctx.table("volumes").append(volume)
        if volume["clone"]["is_flexclone"]:
            contents = next(c for c in ctx.table("snapshot_contents")
                            if c["snapshot"] == volume["clone"]["parent_snapshot"]["uuid"])
            for table, device in contents["devices"]:
                block.copy_into(ctx, table, device, volume)
        return volume

    def modify(self, ctx, parent, record, body, params):
        changes = dict(body)
        if "name" in changes:
            _rename(ctx, record, changes.pop("name"))
        if "clone" in changes:
            _split(ctx, record, changes.pop("clone"))
        if "movement" in changes:
            _move(ctx, record, changes.pop("movement"))
        if "aggregates" in changes:
            raise errors.OntapError(400, errors.INVALID_CONTEXT, "The aggregates of a FlexVol volume cannot be "
                                    "changed; use movement.destination_aggregate to move it.", "aggregates")
        old_size, old_guarantee = record["size"], record["guarantee"]["type"]
        if "size" in changes or "space" in changes and "size" in changes["space"]:
            size = changes.pop("size", None) or changes["space"].pop("size")
            _check_size(ctx, record, size)
            record["size"] = size
        _apply(ctx, record, changes)
        if record["size"] > old_size or record["guarantee"]["type"] != old_guarantee:
            aggregate = ctx.lookup("aggregates", {"uuid": record["aggregates"][0]["uuid"]})
            capacity.check_volume_fits(ctx, aggregate, record, _node_of(ctx, record["aggregates"][0]),
                                       resizing=True)

    def delete(self, ctx, parent, record, params):
        name = record["name"]
        if record["is_svm_root"]:
            raise errors.OperationFailed(errors.IN_USE, f'Volume "{name}" is the root volume of SVM '
                                                         f'"{record["svm"]["name"]}" and cannot be deleted.')
        clones = sorted(v["name"] for v in ctx.table("volumes") if _is_clone_of(v, record))
        if clones:
            raise errors.OperationFailed(errors.IN_USE, f'Volume "{name}" cannot be deleted because it has FlexClone '
                                                         f'volumes: {", ".join(clones)}. Split or delete them first.')
        mapped = [d["name"] for _, d in capacity.block_devices(ctx, record["uuid"]) if block.is_mapped(ctx, d)]
        if mapped:
            raise errors.OperationFailed(errors.IN_USE, f'Volume "{name}" cannot be deleted because it contains mapped '
                                                         f'LUNs or namespaces: {", ".join(sorted(mapped))}.')
        for table in ("luns", "namespaces"):
            ctx.table(table)[:] = [d for d in ctx.table(table) if d["location"]["volume"]["uuid"] != record["uuid"]]
        for snapshot in [s for s in ctx.table("snapshots") if s["volume"]["uuid"] == record["uuid"]]:
            _forget_snapshot(ctx, snapshot)
        ctx.table("volumes").remove(record)


def _create(ctx, svm: dict, name: str, settings: dict) -> dict:
    wanted = settings.pop("aggregates", None)
    if not wanted:
        raise errors.missing("aggregates.name")
    if len(wanted) > 1 or settings.get("style") == "flexgroup":
        raise errors.OperationFailed(errors.NOT_SUPPORTED, "FlexGroup volumes are not supported by the lab's "
                                                           "ONTAP stand-in; give exactly one aggregate.")
    aggregate = ctx.require("aggregates", wanted[0], "aggregates.name")
    if ctx.scope_uuid and svm["aggregates"] and aggregate["uuid"] not in {a["uuid"] for a in svm["aggregates"]}:
        raise errors.OperationFailed(errors.NOT_AUTHORIZED, f'Aggregate "{aggregate["name"]}" is not assigned to '
                                                            f'SVM "{svm["name"]}".')
    size = settings.pop("size", None) or (settings.get("space") or {}).pop("size", None) or _DEFAULT_SIZE
    volume = _new_volume(ctx, svm, name, aggregate, size)
    _check_size(ctx, volume, size)
    _apply(ctx, volume, settings)
    return volume


def _clone(ctx, svm: dict, name: str, settings: dict) -> dict:
    wanted = settings.pop("clone")
    if "aggregates" in settings:
        raise errors.OntapError(400, errors.INVALID_CONTEXT, "A FlexClone volume is created on the aggregate of its "
                                                             "parent; do not give aggregates.", "aggregates")
    parent_svm = ctx.svm(wanted["parent_svm"]) if wanted.get("parent_svm") else svm
    parent = ctx.require("volumes", wanted["parent_volume"], "clone.parent_volume.name",
                         **{"svm.uuid": parent_svm["uuid"]})
    if wanted.get("parent_snapshot"):
        snapshot = ctx.require("snapshots", wanted["parent_snapshot"], "clone.parent_snapshot.name",
                               **{"volume.uuid": parent["uuid"]})
    else:
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S")
        snapshot = _take_snapshot(ctx, parent, f"clone_{name}.{stamp}.0", {})
    volume = copy.deepcopy(parent)
    volume.update({"uuid": ctx.new_uuid(), "name": name, "svm": ctx.resources["svms"].ref(svm), "comment": "",
                   "create_time": now(), "is_svm_root": False})
    volume["nas"].pop("path", None)
    volume["clone"] = {"is_flexclone": True, "split_initiated": False,
                       "parent_volume": ctx.resources["volumes"].ref(parent),
                       "parent_snapshot": ctx.resources["snapshots"].ref(snapshot),
                       "parent_svm": ctx.resources["svms"].ref(parent_svm)}
    _apply(ctx, volume, settings)
    return volume


def _apply(ctx, volume: dict, changes: dict) -> None:
    """Settings shared by create, clone and modify."""
    svm = ctx.lookup("svms", {"uuid": volume["svm"]["uuid"]})
    changes = copy.deepcopy(changes)
    if "snapshot_policy" in changes:
        volume["snapshot_policy"] = snapshot_policy_ref(ctx, changes.pop("snapshot_policy"))
    nas_changes = changes.get("nas") or {}
    if "export_policy" in nas_changes:
        volume["nas"]["export_policy"] = nas.policy_ref(ctx, svm, nas_changes.pop("export_policy"))
    if "path" in nas_changes:
        _junction(ctx, volume, nas_changes.pop("path"))
    reserve = get_path(changes, "space.snapshot.reserve_percent")
    if reserve is not None and not 0 <= reserve <= 90:
        raise errors.invalid_value("space.snapshot.reserve_percent", reserve, "0 to 90")
    # Enumerations netapp-ontap's schema leaves open.
    for field, allowed in (("state", ("online", "offline", "restricted")), ("guarantee.type", ("volume", "none"))):
        value = get_path(changes, field)
        if value is not None and value not in allowed:
            raise errors.invalid_value(field, value, " or ".join(allowed))
    merge(volume, changes)


def _check_size(ctx, volume: dict, size: int) -> None:
    if size < capacity.MIN_VOLUME_SIZE:
        minimum = capacity.human(capacity.MIN_VOLUME_SIZE)
        raise errors.OperationFailed(errors.INVALID, f'Volume size {capacity.human(size)} is too small; the minimum '
                                                     f'size of a FlexVol volume is {minimum}.')
    if volume["uuid"] in {v["uuid"] for v in ctx.table("volumes")}:
        needed = capacity.reserved_in_volume(ctx, volume)
        usable = size - size * volume["space"]["snapshot"]["reserve_percent"] // 100
        if usable < needed:
            raise errors.OperationFailed(errors.INVALID, f'Unable to set volume attribute "size" for volume '
                                                         f'"{volume["name"]}". Reason: the new size leaves less room '
                                                         f'than the {capacity.human(needed)} its LUNs and namespaces '
                                                         f'reserve.')


def _junction(ctx, volume: dict, path: str | None) -> None:
    if not path:
        volume["nas"].pop("path", None)
        return
    if not path.startswith("/"):
        raise errors.invalid_value("nas.path", path, "an absolute junction path")
    siblings = [v for v in ctx.table("volumes") if v["svm"]["uuid"] == volume["svm"]["uuid"]
                and v["uuid"] != volume["uuid"]]
    if any(v["nas"].get("path") == path for v in siblings):
        raise errors.OperationFailed(errors.DUPLICATE_ENTRY, f'Junction path "{path}" is already in use in SVM '
                                                             f'"{volume["svm"]["name"]}".')
    parent = path.rsplit("/", 1)[0] or "/"
    if not any(v["nas"].get("path") == parent for v in siblings):
        raise errors.OperationFailed(errors.ENTRY_DOESNT_EXIST, f'Cannot mount volume "{volume["name"]}" at '
                                                                f'"{path}": no volume is mounted at "{parent}".')
    volume["nas"]["path"] = path


def _rename(ctx, volume: dict, name: str) -> None:
    if name == volume["name"]:
        return
    if not _NAME.match(name):
        raise errors.invalid_value("name", name, "a letter or underscore, then letters, digits or underscores")
    if any(v["name"] == name and v["svm"]["uuid"] == volume["svm"]["uuid"] for v in ctx.table("volumes")):
        raise errors.OperationFailed(errors.DUPLICATE_ENTRY, f'Duplicate volume name "{name}".')
    volume["name"] = name
    tables = ctx.store.data["tables"]
    for kind in ("volume", "parent_volume"):
        rename_refs(tables, kind, volume["uuid"], name)
    block.follow_volume_rename(ctx, volume)


def _split(ctx, volume: dict, wanted: dict) -> None:
    if set(wanted) - {"split_initiated"}:
        raise errors.OperationFailed(errors.NOT_SUPPORTED, "Only clone.split_initiated can be changed by the lab's "
                                                           "ONTAP stand-in.")
    if wanted.get("split_initiated"):
        if not volume["clone"]["is_flexclone"]:
            raise errors.OperationFailed(errors.INVALID, f'Volume "{volume["name"]}" is not a FlexClone volume.')
        volume["clone"] = {"is_flexclone": False}


def _move(ctx, volume: dict, wanted: dict) -> None:
    target = wanted.get("destination_aggregate")
    if set(wanted) - {"destination_aggregate"} or not target:
        raise errors.OperationFailed(errors.NOT_SUPPORTED, "The lab's ONTAP stand-in only moves volumes with "
                                                           "movement.destination_aggregate.")
    aggregate = ctx.require("aggregates", target, "movement.destination_aggregate.name")
    capacity.check_volume_fits(ctx, aggregate, volume, aggregate["node"]["name"])
    volume["aggregates"] = [ctx.resources["aggregates"].ref(aggregate)]
    volume["movement"] = {"state": "done", "percent_complete": 100,
                          "destination_aggregate": ctx.resources["aggregates"].ref(aggregate)}


def _is_clone_of(volume: dict, parent: dict) -> bool:
    return volume["clone"]["is_flexclone"] and volume["clone"]["parent_volume"]["uuid"] == parent["uuid"]


# --- snapshots ------------------------------------------------------------------------------

def _take_snapshot(ctx, volume: dict, name: str, settings: dict) -> dict:
    if any(s["name"] == name and s["volume"]["uuid"] == volume["uuid"] for s in ctx.table("snapshots")):
        raise errors.OperationFailed(errors.DUPLICATE_ENTRY, f'Snapshot copy "{name}" of volume "{volume["name"]}" '
                                                             f'on Vserver "{volume["svm"]["name"]}" already exists.')
    snapshot = {"uuid": ctx.new_uuid(), "name": name, "volume": ctx.resources["volumes"].ref(volume),
                "svm": copy.deepcopy(volume["svm"]), "create_time": now(), "state": "valid", "size": 0,
                "version_uuid": ctx.new_uuid()}
    merge(snapshot, settings)
    ctx.table("snapshots").append(snapshot)
    # What the snapshot holds, so a FlexClone of it gets the same LUNs and namespaces.
    ctx.table("snapshot_contents").append(
        {"snapshot": snapshot["uuid"], "devices": copy.deepcopy(list(capacity.block_devices(ctx, volume["uuid"])))})
    return snapshot


def _forget_snapshot(ctx, snapshot: dict) -> None:
    ctx.table("snapshots").remove(snapshot)
    ctx.table("snapshot_contents")[:] = [c for c in ctx.table("snapshot_contents")
                                         if c["snapshot"] != snapshot["uuid"]]


class Snapshots(Resource):
    ontap = Snapshot
    table = "snapshots"
    async_methods = _WRITES
    parent_table = "volumes"

    def rows(self, ctx, parent):
        return [s for s in ctx.table("snapshots") if s["volume"]["uuid"] == parent["uuid"]]

    def create(self, ctx, parent, body, params):
        name = body.get("name")
        if not name:
            raise errors.missing("name")
        if not _SNAPSHOT_NAME.match(name):
            raise errors.invalid_value("name", name, "1 to 255 characters without spaces or '/'")
        return _take_snapshot(ctx, parent, name, {k: v for k, v in body.items() if k not in ("name", "volume")})

    def modify(self, ctx, parent, record, body, params):
        changes = dict(body)
        new = changes.pop("name", record["name"])
        if new != record["name"]:
            if any(s["name"] == new and s["volume"]["uuid"] == record["volume"]["uuid"]
                   for s in ctx.table("snapshots")):
                raise errors.OperationFailed(errors.DUPLICATE_ENTRY, f'Snapshot copy "{new}" already exists.')
            record["name"] = new
            rename_refs(ctx.store.data["tables"], "parent_snapshot", record["uuid"], new)
        merge(record, changes)

    def delete(self, ctx, parent, record, params):
        users = sorted(v["name"] for v in ctx.table("volumes") if v["clone"]["is_flexclone"]
                       and v["clone"]["parent_snapshot"]["uuid"] == record["uuid"])
        if users:
            raise errors.OperationFailed(
                errors.IN_USE, f'Failed to delete Snapshot copy "{record["name"]}" of volume '
                               f'"{record["volume"]["name"]}" on Vserver "{record["svm"]["name"]}". Reason: Snapshot '
                               f'copy is in use by FlexClone volume(s): {", ".join(users)}.')
        _forget_snapshot(ctx, record)
