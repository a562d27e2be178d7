"""NVMe over TCP: namespaces, subsystems with their hosts, and subsystem maps."""

import re

from netapp_ontap.resources import NvmeNamespace, NvmeSubsystem, NvmeSubsystemHost, NvmeSubsystemMap

from .. import errors
from ..resource import Resource, flag, get_path, merge, now, rename_refs
from . import block

_SUBSYSTEM_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,96}$")
_NQN = re.compile(r"^nqn\.\d{4}-\d{2}\.[A-Za-z0-9.-]+:.+$")
_BLOCK_SIZES = (512, 4096)


def _maps(ctx, kind: str, uuid: str) -> list:
    return [m for m in ctx.table("nvme_subsystem_maps") if m[kind]["uuid"] == uuid]


class Namespaces(Resource):
    ontap = NvmeNamespace
    table = "namespaces"
    extra_params = {"DELETE": frozenset({"allow_delete_while_mapped"})}

    def view(self, ctx, record):
        view = super().view(ctx, record)
        maps = _maps(ctx, "namespace", record["uuid"])
        view["status"]["mapped"] = bool(maps)
        if maps:
            view["subsystem_map"] = {k: maps[0][k] for k in ("subsystem", "nsid", "anagrpid")}
        return view

    def create(self, ctx, parent, body, params):
        svm = ctx.svm(body.get("svm"))
        volume, path = block.locate(ctx, svm, body, "namespace")
        if any(ns["name"] == path and ns["svm"]["uuid"] == svm["uuid"] for ns in ctx.table("namespaces")):
            raise errors.OperationFailed(errors.DUPLICATE_ENTRY, f'A namespace named "{path}" already exists.', 409)
        record = {"uuid": ctx.new_uuid(), "name": path, "svm": ctx.resources["svms"].ref(svm),
                  "location": {"volume": ctx.resources["volumes"].ref(volume), "namespace": path.rsplit("/", 1)[1]},
                  "enabled": True, "comment": "", "create_time": now(),
                  "space": {"block_size": 4096, "used": 0, "guarantee": {"requested": False}},
                  "status": {"state": "online", "container_state": "online", "read_only": False}}
        wanted_map = body.get("subsystem_map")
        merge(record, {k: v for k, v in body.items()
                       if k not in ("name", "svm", "location", "clone", "provisioning_options", "subsystem_map")})
        for required in ("os_type", "space.size"):
            if get_path(record, required) is None:
                raise errors.missing(required)
        if record["space"]["block_size"] not in _BLOCK_SIZES:
            raise errors.invalid_value("space.block_size", record["space"]["block_size"], "512 or 4096")
        record["space"]["guarantee"]["reserved"] = record["space"]["guarantee"]["requested"]
        block.require_room(ctx, volume, "namespace", record)
        ctx.table("namespaces").append(record)
        if wanted_map:
            map_namespace(ctx, svm, record, wanted_map.get("subsystem"))
        return record

    def modify(self, ctx, parent, record, body, params):
        changes = dict(body)
        volume = ctx.lookup("volumes", record["location"]["volume"])
        if "name" in changes:
            new_volume, path = block.locate(ctx, ctx.lookup("svms", record["svm"]), {"name": changes.pop("name")},
                                            "namespace")
            if new_volume["uuid"] != volume["uuid"]:
                raise errors.OperationFailed(errors.NOT_SUPPORTED, "The lab's ONTAP stand-in only renames "
                                                                   "namespaces within their volume.")
            record["name"], record["location"]["namespace"] = path, path.rsplit("/", 1)[1]
            rename_refs(ctx.store.data["tables"], "namespace", record["uuid"], path)
        size = get_path(changes, "space.size")
        if size is not None and size < record["space"]["size"]:
            raise errors.OperationFailed(errors.INVALID, "Shrinking an NVMe namespace is not supported.")
        merge(record, changes)
        record["space"]["guarantee"]["reserved"] = record["space"]["guarantee"]["requested"]
        block.require_room(ctx, volume, "namespace", record, exclude=record["uuid"])

    def delete(self, ctx, parent, record, params):
        maps = _maps(ctx, "namespace", record["uuid"])
        if maps and not flag(params, "allow_delete_while_mapped"):
            raise errors.OperationFailed(errors.IN_USE, f'Namespace "{record["name"]}" is mapped to a subsystem; '
                                                         f'unmap it first or set allow_delete_while_mapped.')
        for ns_map in maps:
            ctx.table("nvme_subsystem_maps").remove(ns_map)
        ctx.table("namespaces").remove(record)


def _add_host(subsystem: dict, host: dict) -> dict:
    nqn = host.get("nqn")
    if not nqn:
        raise errors.missing("nqn")
    if not _NQN.match(nqn):
        raise errors.invalid_value("nqn", nqn, "an NVMe qualified name (nqn.yyyy-mm.domain:...)")
    if any(h["nqn"] == nqn for h in subsystem["hosts"]):
        raise errors.duplicate(f'Host "{nqn}" is already in subsystem "{subsystem["name"]}".', "nqn")
    entry = {"nqn": nqn, **{k: v for k, v in host.items() if k not in ("nqn", "subsystem")}}
    subsystem["hosts"].append(entry)
    return entry


class Subsystems(Resource):
    ontap = NvmeSubsystem
    table = "nvme_subsystems"
    extra_params = {"DELETE": frozenset({"allow_delete_while_mapped", "allow_delete_with_hosts"})}

    def view(self, ctx, record):
        view = super().view(ctx, record)
        view["subsystem_maps"] = [{k: m[k] for k in ("namespace", "nsid", "anagrpid")}
                                  for m in _maps(ctx, "subsystem", record["uuid"])]
        return view

    def create(self, ctx, parent, body, params):
        svm = ctx.svm(body.get("svm"))
        name = body.get("name")
        if not name:
            raise errors.missing("name")
        if not _SUBSYSTEM_NAME.match(name):
            raise errors.invalid_value("name", name, "1 to 96 letters, digits, '_', '.', ':' or '-'")
        if not body.get("os_type"):
            raise errors.missing("os_type")
        if not svm["nvme"]["allowed"]:
            raise errors.OperationFailed(errors.PROTOCOL_NOT_ALLOWED,
                                         f'The NVMe protocol is not allowed for SVM "{svm["name"]}".')
        if any(s["name"] == name and s["svm"]["uuid"] == svm["uuid"] for s in ctx.table("nvme_subsystems")):
            raise errors.OperationFailed(errors.NVME_SUBSYSTEM_EXISTS,
                                         f'NVMe subsystem "{name}" already exists in SVM "{svm["name"]}".', 409)
        uuid = ctx.new_uuid()
        record = {"uuid": uuid, "name": name, "svm": ctx.resources["svms"].ref(svm), "comment": "",
                  "delete_on_unmap": False, "hosts": [], "serial_number": "81" + uuid.replace("-", "")[:18],
                  "target_nqn": f"nqn.1992-08.com.netapp:sn.{svm['uuid'].replace('-', '')}:subsystem.{name}",
                  "io_queue": {"default": {"count": 4, "depth": 32}}}
        merge(record, {k: v for k, v in body.items() if k not in ("name", "svm", "hosts")})
        for host in body.get("hosts") or []:
            _add_host(record, host)
        ctx.table("nvme_subsystems").append(record)
        return record

    def modify(self, ctx, parent, record, body, params):
        merge(record, body)

    def delete(self, ctx, parent, record, params):
        maps = _maps(ctx, "subsystem", record["uuid"])
        if maps and not flag(params, "allow_delete_while_mapped"):
            raise errors.OperationFailed(errors.IN_USE, f'NVMe subsystem "{record["name"]}" has namespaces mapped; '
                                                         f'unmap them first or set allow_delete_while_mapped.')
        if record["hosts"] and not flag(params, "allow_delete_with_hosts"):
            raise errors.OperationFailed(errors.IN_USE, f'NVMe subsystem "{record["name"]}" has hosts; remove them '
                                                         f'first or set allow_delete_with_hosts.')
        for ns_map in maps:
            ctx.table("nvme_subsystem_maps").remove(ns_map)
        ctx.table("nvme_subsystems").remove(record)


class SubsystemHosts(Resource):
    ontap = NvmeSubsystemHost
    table = "nvme_subsystem_hosts"  # a view of nvme_subsystems[].hosts
    default_fields = ("nqn",)
    owner = None  # scoped through the parent subsystem
    parent_table = "nvme_subsystems"

    def rows(self, ctx, parent):
        return [dict(host, subsystem=ctx.resources["nvme_subsystems"].ref(parent)) for host in parent["hosts"]]

    def create(self, ctx, parent, body, params):
        added = [_add_host(parent, item) for item in body.get("records") or [body]]
        return next(row for row in self.rows(ctx, parent) if row["nqn"] == added[0]["nqn"])

    def delete(self, ctx, parent, record, params):
        parent["hosts"] = [h for h in parent["hosts"] if h["nqn"] != record["nqn"]]


def _hex_id(number: int) -> str:
    """ONTAP writes namespace and ANA group ids as hex strings: 00000001h."""
    return f"{number:08x}h"


def map_namespace(ctx, svm: dict, namespace: dict, wanted_subsystem: dict | None) -> dict:
    subsystem = ctx.require("nvme_subsystems", wanted_subsystem, "subsystem.name", **{"svm.uuid": svm["uuid"]})
    existing = _maps(ctx, "namespace", namespace["uuid"])
    if existing:
        raise errors.OperationFailed(errors.IN_USE, f'Namespace "{namespace["name"]}" is already mapped to subsystem '
                                                    f'"{existing[0]["subsystem"]["name"]}".', 409)
    used = {m["nsid"] for m in _maps(ctx, "subsystem", subsystem["uuid"])}
    nsid = next(_hex_id(n) for n in range(1, 4097) if _hex_id(n) not in used)
    ns_map = {"svm": ctx.resources["svms"].ref(svm), "subsystem": ctx.resources["nvme_subsystems"].ref(subsystem),
              "namespace": ctx.resources["namespaces"].ref(namespace), "nsid": nsid, "anagrpid": nsid}
    ctx.table("nvme_subsystem_maps").append(ns_map)
    return ns_map


class SubsystemMaps(Resource):
    ontap = NvmeSubsystemMap
    table = "nvme_subsystem_maps"
    default_fields = ("svm.name", "svm.uuid", "subsystem.name", "subsystem.uuid", "namespace.name",
                      "namespace.uuid", "nsid")

    def create(self, ctx, parent, body, params):
        svm = ctx.svm(body.get("svm"))
        namespace = ctx.require("namespaces", body.get("namespace"), "namespace.name", **{"svm.uuid": svm["uuid"]})
        return map_namespace(ctx, svm, namespace, body.get("subsystem"))

    def delete(self, ctx, parent, record, params):
        ctx.table("nvme_subsystem_maps").remove(record)
        subsystem = ctx.lookup("nvme_subsystems", record["subsystem"])
        if subsystem["delete_on_unmap"] and not _maps(ctx, "subsystem", subsystem["uuid"]):
            ctx.table("nvme_subsystems").remove(subsystem)
