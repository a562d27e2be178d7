"""Request checks against ONTAP's own schemas.

netapp-ontap ships marshmallow schemas generated from ONTAP's OpenAPI document, each listing
which fields may be read, posted and patched. The stand-in uses them to answer like ONTAP
does: an unknown field is an "Unexpected argument", a read-only one "cannot be set in this
operation", a wrong type "is invalid" - so a lab client cannot send what ONTAP would refuse.
"""

import datetime
import warnings
from functools import cache

from marshmallow import ValidationError
from marshmallow import fields as mf
from netapp_ontap.resource import Size

from . import errors

POST, PATCH, GET = "postable", "patchable", "gettable"

# netapp-ontap's generated models use marshmallow's bare Number field, which marshmallow warns
# about as each model loads; that concerns their code, not the requests the stand-in checks.
warnings.filterwarnings("ignore", message="`Number` field should not be instantiated", module="netapp_ontap")


@cache
def _by_key(schema_cls) -> dict:
    """data key (as on the wire) -> (attribute name used in the *_fields lists, field)."""
    return {field.data_key or name: (name, field) for name, field in schema_cls().fields.items()}


def _entry(schema, key: str):
    return _by_key(type(schema)).get(key)


def _child(field):
    """The schema inside a Nested or a List of Nested, else None."""
    if isinstance(field, mf.List):
        field = field.inner
    return field.schema if isinstance(field, mf.Nested) else None


def _allowed(schema, restricted, op: str, name: str):
    """Whether attribute `name` is allowed for `op`, and which of its sub-fields are.

    The generated lists name a whole sub-object ("space") or single fields of a reference
    ("svm.name"); `restricted` carries the latter down one level. None means "the child
    schema's own list applies".
    """
    names = restricted if restricted is not None else getattr(schema, f"{op}_fields")
    if name in names:
        return True, None
    subs = [n[len(name) + 1:] for n in names if n.startswith(name + ".")]
    return bool(subs), (subs or None)


def expand_dotted(body: dict, where: str = "") -> dict:
    """{"svm.name": "a"} -> {"svm": {"name": "a"}}, as ONTAP accepts both spellings."""
    out: dict = {}
    for key, value in body.items():
        if isinstance(value, dict):
            value = expand_dotted(value, f"{where}{key}.")
        head, *rest = key.split(".")
        for part in reversed(rest):
            value = {part: value}
        if head in out and not (isinstance(out[head], dict) and isinstance(value, dict)):
            raise errors.OntapError(400, errors.FIELD_TWICE, f'Field "{where}{key}" was specified twice.',
                                    where + key)
        out[head] = _merge(out[head], value, f"{where}{head}.") if head in out else value
    return out


def _merge(a: dict, b: dict, where: str) -> dict:
    merged = dict(a)
    for key, value in b.items():
        if key in merged:
            if not (isinstance(merged[key], dict) and isinstance(value, dict)):
                raise errors.OntapError(400, errors.FIELD_TWICE, f'Field "{where}{key}" was specified twice.',
                                        where + key)
            value = _merge(merged[key], value, f"{where}{key}.")
        merged[key] = value
    return merged


def check_body(schema_cls, body: dict, op: str) -> dict:
    """Validate a POST or PATCH body; returns it with dotted keys expanded."""
    expanded = expand_dotted(body)
    _check_object(schema_cls(), expanded, op, None, "")
    return expanded


def _check_object(schema, obj: dict, op: str, restricted, prefix: str) -> None:
    for key, value in obj.items():
        path = prefix + key
        entry = _entry(schema, key)
        if entry is None:
            raise errors.unexpected_argument(path)
        name, field = entry
        ok, sub = _allowed(schema, restricted, op, name)
        if not ok:
            raise errors.not_settable(path)
        _check_value(field, value, op, sub, path)


def _check_value(field, value, op: str, restricted, path: str) -> None:
    if value is None:
        return
    if isinstance(field, mf.Nested):
        if not isinstance(value, dict):
            raise errors.invalid_value(path, value, "object")
        _check_object(field.schema, value, op, restricted, path + ".")
    elif isinstance(field, mf.List):
        if not isinstance(value, list):
            raise errors.invalid_value(path, value, "array")
        for item in value:
            _check_value(field.inner, item, op, restricted, path)
    else:
        _check_scalar(field, value, path)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_datetime(value) -> bool:
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return False
    return True


_SCALARS = (
    (mf.Boolean, "boolean", lambda v: isinstance(v, bool)),
    (Size, "integer", _is_int),
    (mf.Integer, "integer", _is_int),
    (mf.Number, "number", lambda v: _is_int(v) or isinstance(v, float)),
    (mf.DateTime, "date-time", _is_datetime),
    (mf.Str, "string", lambda v: isinstance(v, str)),
    (mf.Dict, "object", lambda v: isinstance(v, dict)),
)


def _check_scalar(field, value, path: str) -> None:
    for kind, expected, accepts in _SCALARS:
        if isinstance(field, kind):
            if not accepts(value):
                raise errors.invalid_value(path, value, expected)
            break
    for validator in field.validators:
        try:
            validator(value)
        except ValidationError as exc:
            raise errors.invalid_value(path, value, "; ".join(exc.messages)) from None


def readable(schema_cls, path: str) -> str:
    """'ok', 'unknown' or 'unreadable' for a dotted field name used in fields= or a query."""
    schema, restricted = schema_cls(), None
    for part in path.split("."):
        if schema is None:
            return "unknown"
        entry = _entry(schema, part)
        if entry is None:
            return "unknown"
        name, field = entry
        ok, restricted = _allowed(schema, restricted, GET, name)
        if not ok:
            return "unreadable"
        schema = _child(field)
    return "ok"
