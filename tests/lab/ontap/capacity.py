"""Space accounting, simple but honest.

A thick volume (guarantee "volume") takes its whole size from its aggregate; a thin one
(guarantee "none") takes only what space-reserved LUNs and namespaces in it hold. Inside a
volume, LUNs and namespaces live in the data part (size minus snapshot reserve); reserved ones
take their size, thin ones nothing until written, and none may be larger than the volume.
"""

from . import errors

MIB = 1024 ** 2
MIN_VOLUME_SIZE = 20 * MIB


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if value < 1024 or unit == "PB":
            break
        value /= 1024
    return f"{value:.3g}{unit}" if unit != "B" else f"{int(value)}B"


def _is_thick(volume: dict) -> bool:
    return volume.get("guarantee", {}).get("type", "volume") == "volume"


def block_devices(ctx, volume_uuid: str):
    """(table, record) of every LUN and NVMe namespace in a volume."""
    for table in ("luns", "namespaces"):
        for item in ctx.table(table):
            if item["location"]["volume"]["uuid"] == volume_uuid:
                yield table, item


def reserved_in_volume(ctx, volume: dict, exclude: str | None = None) -> int:
    return sum(item["space"]["size"] for _, item in block_devices(ctx, volume["uuid"])
               if item["space"]["guarantee"]["requested"] and item["uuid"] != exclude)


def data_capacity(volume: dict) -> int:
    return volume["size"] - volume["size"] * volume["space"]["snapshot"]["reserve_percent"] // 100


def footprint(ctx, volume: dict) -> int:
    """What the volume takes from its aggregate."""
    return volume["size"] if _is_thick(volume) else reserved_in_volume(ctx, volume)


def aggregate_used(ctx, aggregate_uuid: str, exclude: str | None = None) -> int:
    return sum(footprint(ctx, v) for v in ctx.table("volumes")
               if v["aggregates"][0]["uuid"] == aggregate_uuid and v["uuid"] != exclude)


def aggregate_available(ctx, aggregate: dict, exclude: str | None = None) -> int:
    return aggregate["space"]["block_storage"]["size"] - aggregate_used(ctx, aggregate["uuid"], exclude)


def check_volume_fits(ctx, aggregate: dict, volume: dict, node: str, resizing: bool = False) -> None:
    """Fail like ONTAP when a new or grown thick volume does not fit its aggregate."""
    if not _is_thick(volume):
        return
    available = aggregate_available(ctx, aggregate, exclude=volume["uuid"])
    if volume["size"] <= available:
        return
    short, most = human(volume["size"] - available), human(max(available, 0))
    name, aggr = volume["name"], aggregate["name"]
    if resizing:
        message = (f'Unable to set volume attribute "size" for volume "{name}" on Vserver "{volume["svm"]["name"]}". '
                   f'Reason: Request to increase the size of volume "{name}" failed because there is not enough '
                   f'space in aggregate "{aggr}". Either create {short} of free space in the aggregate or select '
                   f'a size of at most {most}.')
    else:
        message = (f'Failed to create the volume on node "{node}". Reason: Request to create volume "{name}" '
                   f'failed because there is not enough space in aggregate "{aggr}". Either create {short} of '
                   f'free space in the aggregate or select a size of at most {most} for the new volume.')
    raise errors.OperationFailed(errors.NO_SPACE, message)


def check_block_device_fits(ctx, volume: dict, kind: str, name: str, size: int, reserved: bool,
                            exclude: str | None = None) -> None:
    """A LUN or namespace must fit its volume; a reserved one must also find the space free."""
    capacity = data_capacity(volume)
    if size > capacity:
        raise errors.OperationFailed(
            errors.LUN_TOO_LARGE,
            f'The {kind} "{name}" of size {human(size)} does not fit in volume "{volume["name"]}", '
            f'which can hold at most {human(capacity)}.')
    if not reserved:
        return
    free = capacity - reserved_in_volume(ctx, volume, exclude)
    if size > free:
        raise errors.OperationFailed(
            errors.NO_SPACE,
            f'Not enough space in volume "{volume["name"]}" to reserve {human(size)} for {kind} "{name}"; '
            f'{human(max(free, 0))} is available.')
    if not _is_thick(volume):
        aggregate = ctx.lookup("aggregates", {"uuid": volume["aggregates"][0]["uuid"]})
        available = aggregate_available(ctx, aggregate)
        previous = next((d["space"]["size"] for _, d in block_devices(ctx, volume["uuid"])
                         if d["uuid"] == exclude and d["space"]["guarantee"]["requested"]), 0)
        if size - previous > available:
            raise errors.OperationFailed(
                errors.NO_SPACE,
                f'Not enough space in aggregate "{aggregate["name"]}" to reserve {human(size)} for {kind} '
                f'"{name}"; {human(max(available, 0))} is available.')
