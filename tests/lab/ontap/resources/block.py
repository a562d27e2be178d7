"""What LUNs and NVMe namespaces share: block devices named /vol/<volume>/<name> in a volume."""

import copy
import random
import re
import string

from .. import capacity, errors
from ..resource import now, rename_refs

_PATH = re.compile(r"^/vol/([^/]+)/([^/]+)$")
_LEAF = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_REF_KIND = {"luns": "lun", "namespaces": "namespace"}
_MAPS = (("lun_maps", "lun"), ("nvme_subsystem_maps", "namespace"))
_SERIAL_CHARS = string.ascii_letters + string.digits + "?+"


def new_serial() -> str:
    """A 12-character LUN serial number, as ONTAP hands out."""
    return "".join(random.choice(_SERIAL_CHARS) for _ in range(12))


def is_mapped(ctx, device: dict) -> bool:
    return any(m[kind]["uuid"] == device["uuid"] for table, kind in _MAPS for m in ctx.table(table))


def locate(ctx, svm: dict, body: dict, leaf_field: str) -> tuple[dict, str]:
    """The volume and path a POST names: "name" (/vol/v/x) or location.volume + location.<leaf_field>."""
    location = body.get("location") or {}
    wanted_volume, leaf = location.get("volume"), location.get(leaf_field)
    name = body.get("name")
    if name:
        match = _PATH.match(name)
        if not match:
            raise errors.invalid_value("name", name, "/vol/<volume>/<name>; qtrees are not supported by the lab")
        volume_name, path_leaf = match.groups()
        if leaf not in (None, path_leaf) or (wanted_volume or {}).get("name") not in (None, volume_name):
            raise errors.OntapError(400, errors.INVALID_CONTEXT, f'"name" and "location" do not agree.', "name")
        leaf = path_leaf
        wanted_volume = wanted_volume or {"name": volume_name}
    elif not (wanted_volume and leaf):
        raise errors.missing("name")
    if not _LEAF.match(leaf):
        raise errors.invalid_value("name", leaf, "letters, digits, '_', '.' or '-'")
    volume = ctx.require("volumes", wanted_volume, "location.volume.name", **{"svm.uuid": svm["uuid"]})
    if name and volume["name"] != name.split("/")[2]:
        raise errors.OntapError(400, errors.INVALID_CONTEXT, f'"name" and "location" do not agree.', "name")
    return volume, f"/vol/{volume['name']}/{leaf}"


def require_room(ctx, volume: dict, kind: str, record: dict, exclude: str | None = None) -> None:
    if volume["state"] != "online":
        raise errors.OperationFailed(errors.INVALID, f'Volume "{volume["name"]}" is {volume["state"]}.')
    capacity.check_block_device_fits(ctx, volume, kind, record["name"], record["space"]["size"],
                                     record["space"]["guarantee"]["requested"], exclude)


def copy_into(ctx, table: str, device: dict, volume: dict) -> None:
    """The copy of a LUN or namespace that a FlexClone of its volume carries: new identity, unmapped."""
    new = copy.deepcopy(device)
    leaf = device["name"].rsplit("/", 1)[1]
    new.update(uuid=ctx.new_uuid(), name=f"/vol/{volume['name']}/{leaf}", svm=copy.deepcopy(volume["svm"]),
               create_time=now())
    new["location"]["volume"] = ctx.resources["volumes"].ref(volume)
    if "serial_number" in new:
        new["serial_number"] = new_serial()
    ctx.table(table).append(new)


def follow_volume_rename(ctx, volume: dict) -> None:
    for table, device in capacity.block_devices(ctx, volume["uuid"]):
        device["name"] = f"/vol/{volume['name']}/{device['name'].rsplit('/', 1)[1]}"
        rename_refs(ctx.store.data["tables"], _REF_KIND[table], device["uuid"], device["name"])
