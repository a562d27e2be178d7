"""The shape every ONTAP collection shares, and the context its handlers run in.

A resource names the netapp-ontap class it stands in for; that class carries ONTAP's URL
template, key fields and schema, so URLs, keys and accepted fields come from ONTAP's own
description rather than from a copy kept here. Subclasses say how records are made, changed
and removed, and which derived fields a view adds.
"""

import copy
import datetime
import re
import urllib.parse

from . import errors
from .query import values_at

ALL_METHODS = frozenset({"GET", "POST", "PATCH", "DELETE"})
_PLACEHOLDER = re.compile(r"\{(\w+)\[(\w+)\]\}")


def href(*parts) -> str:
    return "/api/" + "/".join(urllib.parse.quote(str(p), safe="") for p in parts)


def ref(record: dict, link: str, keys=("name", "uuid")) -> dict:
    """How ONTAP embeds a reference to another object: its keys plus a link."""
    out = {k: record[k] for k in keys if k in record}
    out["_links"] = {"self": {"href": link}}
    return out


def get_path(obj: dict, dotted: str):
    found = values_at(obj, tuple(dotted.split(".")))
    return found[0] if found else None


def merge(target: dict, changes: dict) -> dict:
    """Apply a PATCH-style change: sub-objects merge, everything else replaces."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def rename_refs(tables: dict, kind: str, ident, name: str, key_field: str = "uuid") -> None:
    """After a rename, fix every embedded reference {key_field, "name"} under key `kind`."""
    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == kind and isinstance(value, dict) and value.get(key_field) == ident and "name" in value:
                    value["name"] = name
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(tables)


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).astimezone().replace(microsecond=0).isoformat()


class Context:
    """A request's view of the state: tables, the caller, and scope-aware lookups."""

    def __init__(self, store, principal, resources: dict):
        self.store = store
        self.principal = principal
        self.resources = resources

    def table(self, name: str) -> list:
        return self.store.table(name)

    def new_uuid(self) -> str:
        return self.store.new_uuid()

    @property
    def cluster(self) -> dict:
        return self.table("cluster")[0]

    @property
    def scope_uuid(self) -> str | None:
        svm = self.principal.svm
        return svm["uuid"] if svm else None

    def svm(self, wanted: dict | None) -> dict:
        """The SVM a body names (svm.name / svm.uuid), as the caller can see it."""
        if not wanted:
            if self.principal.svm:
                wanted = {"uuid": self.principal.svm["uuid"]}
            else:
                raise errors.missing("svm.name")
        record = self.lookup("svms", wanted)
        if record is None or (self.scope_uuid and record["uuid"] != self.scope_uuid):
            name = wanted.get("name") or wanted.get("uuid")
            raise errors.OntapError(400, errors.SVM_NOT_FOUND, f'SVM "{name}" does not exist.', "svm.name")
        return record

    def lookup(self, table: str, wanted: dict, **where) -> dict | None:
        """The record whose uuid/name (whichever `wanted` gives) match, among those matching `where`."""
        if not wanted or not any(k in wanted for k in ("uuid", "name")):
            return None
        for record in self.table(table):
            if all(get_path(record, k) == v for k, v in where.items()) and \
                    all(record.get(k) == wanted[k] for k in ("uuid", "name") if k in wanted):
                return record
        return None

    def require(self, table: str, wanted: dict | None, field: str, **where) -> dict:
        record = self.lookup(table, wanted or {}, **where)
        if record is None:
            if not wanted:
                raise errors.missing(field)
            value = wanted.get("name") or wanted.get("uuid")
            raise errors.OntapError(404, errors.ENTRY_DOESNT_EXIST,
                                    f'The value "{value}" for field "{field}" does not exist.', field)
        return record


class Resource:
    ontap: type  # the netapp_ontap.resources class this collection stands in for
    table: str
    default_fields: tuple = ("uuid", "name")
    owner: str | None = "svm.uuid"  # where a view names its SVM; None for cluster-wide objects
    svm_methods: frozenset = ALL_METHODS  # what SVM-scoped callers may do here at all
    async_methods: frozenset = frozenset()
    extra_params: dict = {}  # method -> query parameters ONTAP takes besides field filters
    singleton = False
    readable = True  # whether GET is part of this API at all
    parent_table: str | None = None  # for a nested collection, the table of the enclosing objects

    def __init__(self):
        path = self.ontap._path
        self.schema = self.ontap._schema
        self.parent_keys = tuple(f"{a}.{b}" for a, b in _PLACEHOLDER.findall(path))
        self.own_keys = tuple(k for k in getattr(self.ontap, "_keys", ()) if k not in self.parent_keys)
        # Collection URL as segments after /api, with "{x.y}" where a parent key goes.
        self.segments = tuple(_PLACEHOLDER.sub(r"{\1.\2}", path).split("/")[2:])
        # What REST role privileges name: the collection path without keys.
        self.role_path = "/" + "/".join(["api"] + [s for s in self.segments if not s.startswith("{")])

    @property
    def methods(self) -> frozenset:
        """The methods this stand-in implements for the resource."""
        implemented = {"GET"} if self.readable else set()
        for method, hook in (("POST", "create"), ("PATCH", "modify"), ("DELETE", "delete")):
            if getattr(type(self), hook) is not getattr(Resource, hook):
                implemented.add(method)
        return frozenset(implemented)

    def instance_href(self, view: dict, parent_keys: dict | None = None) -> str:
        """The object's URL; parent keys come from the request URL when the view lacks them."""
        parent_keys = parent_keys or {}
        parents = [parent_keys.get(s[1:-1]) or get_path(view, s[1:-1]) if s.startswith("{") else s
                   for s in self.segments]
        return href(*parents, *[get_path(view, k) for k in self.own_keys])

    def ref(self, record: dict, keys=("name", "uuid")) -> dict:
        return ref(record, self.instance_href(record), keys)

    # --- reading -------------------------------------------------------------------------

    def in_scope(self, ctx: Context, record: dict) -> bool:
        """Whether an SVM-scoped caller may see the record at all."""
        return not (self.owner and ctx.scope_uuid) or get_path(record, self.owner) == ctx.scope_uuid

    def parent(self, ctx: Context, params: dict) -> dict | None:
        """The enclosing record of a nested collection (snapshots -> their volume), from URL keys."""
        if self.parent_table is None:
            return None
        enclosing = ctx.resources[self.parent_table]
        record = enclosing.find(ctx, None, dict(zip(enclosing.own_keys, (params[k] for k in self.parent_keys))))
        if not enclosing.in_scope(ctx, record):
            raise errors.not_found(self.parent_keys[-1])
        return record

    def rows(self, ctx: Context, parent: dict | None) -> list:
        return ctx.table(self.table)

    def view(self, ctx: Context, record: dict) -> dict:
        """The record as clients see it, with derived fields; never the stored object."""
        return copy.deepcopy(record)

    def find(self, ctx: Context, parent: dict | None, keys: dict) -> dict:
        for record in self.rows(ctx, parent):
            if all(str(get_path(record, k)) == v for k, v in keys.items()):
                return record
        raise errors.not_found(self.own_keys[-1] if self.own_keys else "uuid")

    # --- writing (override to support the method) ------------------------------------------

    def create(self, ctx: Context, parent: dict | None, body: dict, params: dict) -> dict:
        raise NotImplementedError

    def modify(self, ctx: Context, parent: dict | None, record: dict, body: dict, params: dict) -> None:
        raise NotImplementedError

    def delete(self, ctx: Context, parent: dict | None, record: dict, params: dict) -> None:
        raise NotImplementedError


def flag(params: dict, name: str, default: bool = False) -> bool:
    """A boolean query parameter; clients send true/false in any case ("True" from Python)."""
    value = str(params.get(name, default)).lower()
    if value not in ("true", "false"):
        raise errors.OntapError(400, errors.INVALID_VALUE, f'Invalid value "{params[name]}" for "{name}"; '
                                                           f'expected true or false.', name)
    return value == "true"
