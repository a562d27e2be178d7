"""One REST request in, one response out: authentication, routing, envelopes, jobs.

Everything ONTAP does the same way for every collection lives here (query parameters,
fields=, paging, HAL links, async jobs, SVM scoping); what differs per object lives in the
resource classes.
"""

import json
import traceback
import urllib.parse
from dataclasses import dataclass, field

from . import auth, errors, jobs, schema
from .query import matches, project, strip_links, values_at
from .resource import Context, flag, get_path, href

CONTROL_PARAMS = frozenset({"fields", "max_records", "return_records", "return_timeout", "ignore_unknown_fields"})
_MAX_RETURN_TIMEOUT = 120
_UNAUTHORIZED_PAGE = ("<html><head><title>401 Authorization Required</title></head>"
                      "<body><h1>Authorization Required</h1></body></html>")


@dataclass
class Response:
    status: int
    body: dict | str | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str  # normalised, without the query
    query: dict
    body: dict | None
    hal: bool
    target: str  # path and query as sent, for _links.self
    parent_keys: dict = field(default_factory=dict)  # keys of the enclosing object, from the URL


class Api:
    def __init__(self, store, resources: list):
        self.store = store
        self.resources = {r.table: r for r in resources}
        # Most literal segments first, so "lun-maps/{lun}/{igroup}" never shadows a fixed name.
        self.routes = sorted(
            [(r, r.segments, False) for r in resources]
            + [(r, r.segments + tuple(f"{{{k}}}" for k in r.own_keys), True)
               for r in resources if r.own_keys],
            key=lambda route: -sum(not s.startswith("{") for s in route[1]))

    def handle(self, method: str, target: str, headers, raw_body: bytes) -> Response:
        try:
            with self.store.lock:
                return self._handle(method, target, headers, raw_body)
        except errors.OntapError as exc:
            return Response(exc.status, exc.body())
        except Exception as exc:  # a stand-in bug: answer as ONTAP does for one, and leave a trace
            traceback.print_exc()
            return Response(500, errors.OntapError(500, errors.INTERNAL, f"Unexpected error in the lab's ONTAP "
                                                                         f"stand-in: {exc!r}").body())

    # --- request parsing -------------------------------------------------------------------

    def _handle(self, method, target, headers, raw_body) -> Response:
        split = urllib.parse.urlsplit(target)
        segments = [urllib.parse.unquote(s) for s in split.path.split("/") if s]
        if not segments or segments[0] != "api":
            raise errors.OntapError(404, errors.NOT_SUPPORTED, "API not found")
        principal = auth.authenticate(self.store, headers.get("Authorization"))
        if principal is None:
            return Response(401, _UNAUTHORIZED_PAGE, {"WWW-Authenticate": 'Basic realm="ONTAP"',
                                                      "Content-Type": "text/html"})
        resource, keys, instance = self._route(segments[1:])
        path = href(*segments[1:])  # as ONTAP echoes it: no doubled or trailing slashes
        request = Request(method, path, _parse_query(split.query), _parse_body(method, raw_body),
                          "application/json" not in headers.get("Accept", ""),
                          f"{path}?{split.query}" if split.query else path)
        if method == "DELETE" and request.body:
            # ONTAP takes a DELETE's parameters from the body as well as from the query.
            request.query.update({k: _query_text(v) for k, v in request.body.items()})
            request.body = None
        ctx = Context(self.store, principal, self.resources)
        self._tunnel(ctx, headers)
        self._authorize(ctx, resource, method)
        return self._dispatch(ctx, resource, keys, instance, request)

    def _route(self, segments: list):
        for resource, pattern, instance in self.routes:
            if len(pattern) == len(segments) and all(
                    p.startswith("{") or p == s for p, s in zip(pattern, segments)):
                keys = {p[1:-1]: s for p, s in zip(pattern, segments) if p.startswith("{")}
                return resource, keys, instance
        for resource, pattern, _ in self.routes:
            if len(pattern) < len(segments) and all(
                    p.startswith("{") or p == s for p, s in zip(pattern, segments)):
                raise errors.unexpected_argument(segments[len(pattern)], status=404)
        raise errors.OntapError(404, errors.NOT_SUPPORTED, "API not found")

    def _tunnel(self, ctx, headers) -> None:
        """X-Dot-SVM-Name / -UUID: a cluster account acting within one SVM."""
        wanted = {k: headers[h] for k, h in (("name", "X-Dot-SVM-Name"), ("uuid", "X-Dot-SVM-UUID"))
                  if headers.get(h)}
        if not wanted:
            return
        svm = ctx.svm(wanted)
        ctx.principal.svm = {"name": svm["name"], "uuid": svm["uuid"]}

    def _authorize(self, ctx, resource, method: str) -> None:
        principal = ctx.principal
        if principal.svm and method not in resource.svm_methods:
            raise errors.not_authorized()
        if not principal.may(method, resource.role_path):
            raise errors.not_authorized()

    # --- dispatch --------------------------------------------------------------------------

    def _dispatch(self, ctx, resource, keys: dict, instance: bool, request: Request) -> Response:
        method = request.method
        on_item = instance or resource.singleton
        # POST goes to a collection, PATCH and DELETE to one object, GET to either.
        if method not in resource.methods or (method != "GET" and (method == "POST") == on_item):
            raise _method_not_allowed(resource, method)
        request.parent_keys = {k: v for k, v in keys.items() if k in resource.parent_keys}
        parent = resource.parent(ctx, request.parent_keys)
        own_keys = {k: v for k, v in keys.items() if k not in resource.parent_keys}
        if method == "GET":
            if on_item:
                return self._get(ctx, resource, parent, own_keys, request)
            return self._list(ctx, resource, parent, request)
        params, filters = self._write_params(resource, method, request.query)
        if method == "POST":
            return self._create(ctx, resource, parent, request, params)
        record, _ = self._locate(ctx, resource, parent, own_keys, filters)
        if method == "PATCH":
            return self._modify(ctx, resource, parent, record, request, params)
        return self._delete(ctx, resource, parent, record, request, params)

    def _locate(self, ctx, resource, parent, own_keys: dict, filters: dict) -> tuple[dict, dict]:
        """The one object a URL names, as (record, view); it must be in scope and match any filters.

        Filters on a single object are legal: netapp-ontap repeats a POST's Location query on
        later GETs, and netapp.ontap sends the object's keys along with a PATCH.
        """
        record = resource.rows(ctx, parent)[0] if resource.singleton else resource.find(ctx, parent, own_keys)
        view = resource.view(ctx, record)
        if not resource.in_scope(ctx, record) or not all(matches(view, p, e) for p, e in filters.items()):
            raise errors.not_found(resource.own_keys[-1] if resource.own_keys else "uuid")
        return record, view

    # --- reads -----------------------------------------------------------------------------

    def _read_params(self, resource, query: dict):
        ignore_unknown = flag(query, "ignore_unknown_fields")
        filters, fields = {}, _split_fields(query.get("fields", ""))
        for name, value in query.items():
            if name in CONTROL_PARAMS:
                continue
            if name.startswith("start."):
                if name[len("start."):] not in _page_order(resource):
                    raise errors.unexpected_argument(name)
                continue
            verdict = schema.readable(resource.schema, name)
            if verdict == "unknown":
                raise errors.unexpected_argument(name)
            if verdict == "unreadable":
                raise errors.OntapError(400, errors.NOT_QUERYABLE, f'Field "{name}" cannot be queried.', name)
            filters[name] = value
        if fields != "all":
            kept = []
            for name in fields:
                verdict = schema.readable(resource.schema, name)
                if verdict == "ok":
                    kept.append(name)
                elif not ignore_unknown:
                    if verdict == "unknown":
                        raise errors.unexpected_argument(name)
                    raise errors.OntapError(400, errors.NOT_READABLE,
                                            f'Field "{name}" is not supported for GET requests.', name)
            fields = kept
        _int_param(query, "max_records", 1, None)
        _int_param(query, "return_timeout", 0, _MAX_RETURN_TIMEOUT)
        return filters, fields

    def _present(self, resource, view: dict, fields, filters: dict, request: Request) -> dict:
        view["_links"] = {"self": {"href": resource.instance_href(view, request.parent_keys)}}
        if fields != "all":
            wanted = set(resource.default_fields) | set(resource.own_keys) | set(fields) | set(filters)
            view = project(view, [tuple(w.split(".")) for w in wanted] + [("_links",)])
        return view if request.hal else strip_links(view)

    def _list(self, ctx, resource, parent, request: Request) -> Response:
        filters, fields = self._read_params(resource, request.query)
        views = [resource.view(ctx, r) for r in resource.rows(ctx, parent) if resource.in_scope(ctx, r)]
        views = [v for v in views if all(matches(v, path, expr) for path, expr in filters.items())]
        order = _page_order(resource)
        views.sort(key=lambda v: _order(v, order))
        start = {k[len("start."):]: v for k, v in request.query.items() if k.startswith("start.")}
        if start:
            first = _order(start, order)
            views = [v for v in views if _order(v, order) >= first]
        body: dict = {}
        if flag(request.query, "return_records", default=True):
            limit = int(request.query.get("max_records", 0)) or len(views)
            page, rest = views[:limit], views[limit:]
            body["records"] = [self._present(resource, v, fields, filters, request) for v in page]
            body["num_records"] = len(page)
            links = {"self": {"href": request.target}} if request.hal else {}
            if rest:
                links["next"] = {"href": _next_href(request, order, rest[0])}
        else:
            body["num_records"] = len(views)
            links = {"self": {"href": request.target}} if request.hal else {}
        if links:
            body["_links"] = links
        return Response(200, body)

    def _get(self, ctx, resource, parent, own_keys: dict, request: Request) -> Response:
        filters, fields = self._read_params(resource, request.query)
        if "fields" not in request.query:
            fields = "all"  # a single object comes whole unless fields= narrows it
        _, view = self._locate(ctx, resource, parent, own_keys, filters)
        return Response(200, self._present(resource, view, fields, filters, request))

    # --- writes ----------------------------------------------------------------------------

    def _write_params(self, resource, method: str, query: dict) -> tuple[dict, dict]:
        """(parameters, field filters); a PATCH or DELETE may also name fields the object must match."""
        allowed = {"return_timeout"} | set(resource.extra_params.get(method, ()))
        if method == "POST":
            allowed.add("return_records")
        params, filters = {}, {}
        for name, value in query.items():
            if name in allowed:
                params[name] = value
            elif schema.readable(resource.schema, name) != "ok":
                raise errors.unexpected_argument(name)
            elif method == "POST":
                raise errors.OntapError(400, errors.POST_FILTER, "POST request on a REST API does not support "
                                        "filtering on an attribute. Attributes must be in the request body.", name)
            else:
                filters[name] = value
        _int_param(params, "return_timeout", 0, _MAX_RETURN_TIMEOUT)
        return params, filters

    def _body(self, resource, request: Request, op: str) -> dict:
        if request.body is None:
            if op == schema.PATCH:
                raise errors.OntapError(400, errors.NO_VALUES,
                                        "You must provide one or more values to apply your changes.")
            return {}
        return schema.check_body(resource.schema, request.body, op)

    def _create(self, ctx, resource, parent, request: Request, params: dict) -> Response:
        body = self._body(resource, request, schema.POST)
        created, job = self._run(ctx, resource, "POST", f"POST {request.path}",
                                 lambda: resource.create(ctx, parent, body, params), body)
        if job is None:
            out = {}
            if flag(params, "return_records"):
                view = resource.view(ctx, created)
                out = {"num_records": 1, "records": [self._present(resource, view, "all", {}, request)]}
            return Response(201, out, {"Location": resource.instance_href(created, request.parent_keys)})
        location = _pending_location(resource, request.path, body, created)
        return self._job_response(job, params, 201, {"Location": location})

    def _modify(self, ctx, resource, parent, record, request: Request, params: dict) -> Response:
        body = self._body(resource, request, schema.PATCH)
        _, job = self._run(ctx, resource, "PATCH", f"PATCH {request.path}",
                           lambda: resource.modify(ctx, parent, record, body, params), record)
        return Response(200, {}) if job is None else self._job_response(job, params, 200)

    def _delete(self, ctx, resource, parent, record, request: Request, params: dict) -> Response:
        _, job = self._run(ctx, resource, "DELETE", f"DELETE {request.path}",
                           lambda: resource.delete(ctx, parent, record, params), record)
        return Response(200, {}) if job is None else self._job_response(job, params, 200)

    def _run(self, ctx, resource, method: str, description: str, op, subject: dict):
        """Run a write in a transaction; asynchronous endpoints record the outcome in a job."""
        if method not in resource.async_methods:
            with self.store.transaction():
                return op(), None
        with self.store.transaction():
            try:
                with self.store.savepoint():
                    result, failure = op(), None
            except errors.OperationFailed as exc:
                result, failure = None, exc
            return result, jobs.record(ctx, description, self._job_svm(ctx, subject), failure)

    def _job_svm(self, ctx, subject: dict) -> dict | None:
        wanted = subject.get("svm") if isinstance(subject.get("svm"), dict) else ctx.principal.svm
        record = ctx.lookup("svms", wanted) if wanted else None
        return self.resources["svms"].ref(record) if record else None

    def _job_response(self, job: dict, params: dict, done_status: int, headers=None) -> Response:
        if int(params.get("return_timeout", 0)) == 0:
            return Response(202, jobs.link(job), headers or {})
        if job["state"] == "failure":
            raise errors.OntapError(400, str(job["code"]), job["message"])
        return Response(done_status, jobs.link(job), headers or {})


# --- helpers -------------------------------------------------------------------------------

def _method_not_allowed(resource, method: str) -> errors.OntapError:
    ontap_has_it = hasattr(resource.ontap, {"GET": "get", "POST": "post", "PATCH": "patch",
                                            "DELETE": "delete"}[method])
    if ontap_has_it and method not in resource.methods:
        message = f"{method} on {resource.role_path} is not implemented by the lab's ONTAP stand-in."
    else:
        message = f"The {method} method is not supported for this resource."
    return errors.OntapError(405, errors.NOT_SUPPORTED, message)


def _parse_query(text: str) -> dict:
    query: dict = {}
    for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        if name == "fields" and name in query:
            value = f"{query[name]},{value}"
        elif name in query:
            raise errors.OntapError(400, errors.FIELD_TWICE, f'Field "{name}" was specified twice.', name)
        query[name] = value
    return query


def _parse_body(method: str, raw: bytes) -> dict | None:
    if not raw or not raw.strip():
        return None
    if method == "GET":
        raise errors.OntapError(400, errors.BODY_NOT_ALLOWED, "A request body is not allowed on GET requests.")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise errors.OntapError(400, errors.INVALID_JSON, f"Invalid JSON input: {exc}") from None
    if not isinstance(body, dict):
        raise errors.OntapError(400, errors.UNEXPECTED_ARRAY,
                                "An array was found in the JSON when it was not expected.")
    return body


def _query_text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _split_fields(text: str):
    names = [n.strip() for n in text.split(",") if n.strip()]
    return "all" if {"*", "**"} & set(names) else names


def _int_param(query: dict, name: str, low: int, high: int | None) -> None:
    if name not in query:
        return
    try:
        value = int(query[name])
    except ValueError:
        raise errors.OntapError(400, errors.INVALID_VALUE, f'Invalid value "{query[name]}" for "{name}".',
                                name) from None
    if value < low or (high is not None and value > high):
        raise errors.OntapError(400, errors.INVALID_VALUE, f'Value "{value}" for "{name}" is out of range.',
                                name)


def _page_order(resource) -> tuple:
    """Records are listed in key order; a next link resumes at the first key not yet returned."""
    return resource.own_keys or ("uuid",)


def _order(obj: dict, keys: tuple) -> tuple:
    """Sort key for paging; numeric keys (policy ids, rule indexes) sort as numbers."""
    out = []
    for key in keys:
        found = values_at(obj, tuple(key.split("."))) if key not in obj else [obj[key]]
        value = found[0] if found else ""
        text = str(value)
        out.append((0, int(text), "") if text.isdigit() else (1, 0, text))
    return tuple(out)


def _next_href(request: Request, order: tuple, first: dict) -> str:
    pairs = [(k, v) for k, v in request.query.items() if not k.startswith("start.")]
    pairs += [(f"start.{k}", str(get_path(first, k))) for k in order]
    return f"{request.path}?{urllib.parse.urlencode(pairs)}"


def _pending_location(resource, path: str, body: dict, created: dict | None) -> str:
    """Where an asynchronously created object will be: ONTAP answers with a query, not a key."""
    query = {"name": body.get("name", "")}
    svm = (created or body).get("svm") if resource.owner == "svm.uuid" else None
    if svm and svm.get("name"):
        query["svm.name"] = svm["name"]
    return f"{path}?{urllib.parse.urlencode(query)}"

