"""Plain API calls for the lab's own writes: no model (de)serialisation, server-side apply."""

import json

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

FIELD_MANAGER = "lab"


def request(api: ApiClient, method: str, path: str, body=None, query=(), content_type=None):
    """One API call without model (de)serialisation: CRDs are megabytes of schema."""
    headers = {"Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    args = api.param_serialize(method, path, query_params=list(query), header_params=headers,
                               body=body, auth_settings=["BearerToken"])
    response = api.call_api(*args)
    data = response.read()
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(http_resp=response, body=data.decode(), data=None)
    return json.loads(data) if data else None


def object_path(obj: dict, plural: str) -> str:
    api_version = obj["apiVersion"]
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    namespace = obj["metadata"].get("namespace")
    scope = f"/namespaces/{namespace}" if namespace else ""
    return f"{prefix}{scope}/{plural}/{obj['metadata']['name']}"


def apply(api: ApiClient, plural: str, obj: dict, subresource: str = "") -> dict:
    """Server-side apply with strict field validation: re-applying is harmless, a typo fails."""
    path = object_path(obj, plural) + (f"/{subresource}" if subresource else "")
    return request(api, "PATCH", path, body=obj, content_type="application/apply-patch+yaml",
                   query=[("fieldManager", FIELD_MANAGER), ("force", "true"),
                          ("fieldValidation", "Strict")])
