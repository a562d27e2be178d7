"""JSON patches: RFC 6902 operations (what VirtualMachineRestore and VirtualMachineClone
``patches`` hold) and the RFC 7386 merge patch between two documents."""

import copy


def _pointer(path: str) -> list:
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path.lstrip("/").split("/")]


def _walk(doc, parts):
    for part in parts:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def json_patch(document, operations: list):
    """Apply ``operations`` (add, remove, replace, test, copy, move) to a copy of ``document``."""
    doc = copy.deepcopy(document)
    for op in operations:
        parts = _pointer(op["path"])
        parent = _walk(doc, parts[:-1]) if parts else None
        key = parts[-1] if parts else None
        kind = op["op"]
        if kind == "test":
            if _walk(doc, parts) != op["value"]:
                raise ValueError(f"test failed at {op['path']}")
            continue
        if kind in ("copy", "move"):
            value = copy.deepcopy(_walk(doc, _pointer(op["from"])))
            if kind == "move":
                json_patch_remove(doc, _pointer(op["from"]))
            kind, op = "add", {**op, "value": value}
        if kind == "remove":
            json_patch_remove(doc, parts)
        elif kind in ("add", "replace"):
            if not parts:
                doc = copy.deepcopy(op["value"])
            elif isinstance(parent, list):
                if key == "-":
                    parent.append(copy.deepcopy(op["value"]))
                elif kind == "add":
                    parent.insert(int(key), copy.deepcopy(op["value"]))
                else:
                    parent[int(key)] = copy.deepcopy(op["value"])
            else:
                if kind == "replace" and key not in parent:
                    raise ValueError(f"replace of missing {op['path']}")
                parent[key] = copy.deepcopy(op["value"])
        else:
            raise ValueError(f"unsupported patch operation {kind}")
    return doc


def json_patch_remove(doc, parts: list) -> None:
    parent = _walk(doc, parts[:-1])
    if isinstance(parent, list):
        del parent[int(parts[-1])]
    else:
        del parent[parts[-1]]


def merge_patch_to(old, new) -> dict:
    """The JSON merge patch that turns ``old`` into ``new`` (keys ``new`` lacks become null)."""
    patch = {}
    for key in set(old or {}) | set(new or {}):
        if key not in (new or {}):
            patch[key] = None
        elif isinstance((old or {}).get(key), dict) and isinstance(new[key], dict):
            nested = merge_patch_to(old[key], new[key])
            if nested:
                patch[key] = nested
        elif (old or {}).get(key) != new[key]:
            patch[key] = new[key]
    return patch
