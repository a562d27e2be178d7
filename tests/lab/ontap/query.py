"""Collection queries as ONTAP evaluates them: field filters, fields= selection, paging."""

import copy
import re
from collections import defaultdict

_RANGE = re.compile(r"^(.+)\.\.(.+)$")
_COMPARE = re.compile(r"^(<=|>=|<|>)(.+)$")


def values_at(obj, path: tuple) -> list:
    """Every leaf value at a dotted path; lists on the way fan out (aggregates.name)."""
    if isinstance(obj, list):
        return [v for item in obj for v in values_at(item, path)]
    if not path:
        return [obj]
    if not isinstance(obj, dict) or path[0] not in obj:
        return []
    return values_at(obj[path[0]], path[1:])


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def _match_one(value, pattern: str) -> bool:
    compare = _COMPARE.match(pattern)
    number = _number(_text(value)) if not isinstance(value, bool) else None
    if compare and number is not None and _number(compare.group(2)) is not None:
        op, bound = compare.group(1), _number(compare.group(2))
        return {"<": number < bound, ">": number > bound, "<=": number <= bound, ">=": number >= bound}[op]
    span = _RANGE.match(pattern)
    if span and number is not None and None not in (_number(span.group(1)), _number(span.group(2))):
        return _number(span.group(1)) <= number <= _number(span.group(2))
    if number is not None and _number(pattern) is not None:
        return number == _number(pattern)
    # Only * is a wildcard: serial numbers and initiator names carry ? and [ literally.
    wildcard = ".*".join(re.escape(part) for part in pattern.lower().split("*"))
    return re.fullmatch(wildcard, _text(value).lower()) is not None


def matches(view: dict, path: str, expression: str) -> bool:
    """ONTAP query syntax: a|b alternatives, !negation, * wildcards, <,>,<=,>= and a..b ranges."""
    found = values_at(view, tuple(path.split(".")))
    for alternative in expression.split("|"):
        if alternative.startswith("!"):
            if not any(_match_one(v, alternative[1:]) for v in found) and found:
                return True
        elif any(_match_one(v, alternative) for v in found):
            return True
    return False


def project(obj, paths: list[tuple]):
    """Keep only the given dotted paths of obj; an empty path keeps everything below."""
    if any(not p for p in paths):
        return copy.deepcopy(obj)
    if isinstance(obj, list):
        return [project(item, paths) for item in obj]
    if not isinstance(obj, dict):
        return copy.deepcopy(obj)
    wanted = defaultdict(list)
    for path in paths:
        if path[0] in obj:
            wanted[path[0]].append(path[1:])
    out = {}
    for key, subs in wanted.items():
        value = project(obj[key], subs)
        if value != {}:
            out[key] = value
    return out


def strip_links(obj):
    """What a client asking for application/json (no HAL) gets."""
    if isinstance(obj, list):
        return [strip_links(item) for item in obj]
    if isinstance(obj, dict):
        return {k: strip_links(v) for k, v in obj.items() if k != "_links"}
    return obj

