"""How the simulated Trident talks to ONTAP: REST over HTTPS, one session per backend.

It speaks as Trident's REST client does: HTTP Basic auth, ``fields=`` queries, record
envelopes followed through ``_links.next``, and writes that answer 202 with a job which is
polled until it ends. It uses ``requests`` rather than the ``netapp_ontap`` library because
the library keeps its connection in a process-wide (or thread-local) context and polls jobs
every few seconds, while the simulated Trident needs one connection per backend, shared by
worker threads, and Trident's own polling; the tests use ``netapp_ontap`` to read what
Trident left on ONTAP, so the stand-in's wire format is still checked by a client we did
not write.

The lab never sends traffic outside the machine: a management LIF that is not a loopback
address is refused before any connection is made.
"""

import base64
import functools
import ipaddress
import tempfile
import time

import requests
import urllib3

# Trident skips TLS verification unless the backend names a trustedCACertificate; so does
# this client, without a warning per request.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

JOB_TIMEOUT = 120.0  # Trident polls a job for up to 2 minutes
REQUEST_TIMEOUT = 60.0  # Trident's HTTP client timeout


class OntapError(Exception):
    """A failed ONTAP call, rendered as Trident's go-swagger client names the call."""

    def __init__(self, method: str, path: str, status: int, message: str, code: str = ""):
        self.method, self.path, self.status, self.message, self.code = method, path, status, message, code
        super().__init__(str(self))

    def __str__(self) -> str:
        code = f" (code {self.code})" if self.code else ""
        return f"[{self.method} {self.path}][{self.status}] {self.message}{code}"


class NotLoopback(ValueError):
    pass


def loopback_endpoint(management_lif: str) -> str:
    """``host[:port]`` (IPv6 in brackets) -> base URL, refusing anything but loopback."""
    host, port = management_lif, ""
    if management_lif.startswith("["):
        host, _, rest = management_lif[1:].partition("]")
        port = rest.lstrip(":")
    elif management_lif.count(":") == 1:
        host, port = management_lif.split(":")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotLoopback(f"managementLIF '{management_lif}' is not a loopback address; the lab's Trident "
                          "only connects to the lab's ONTAP on 127.0.0.1")
    netloc = f"[{host}]" if ":" in host else host
    return f"https://{netloc}{':' + port if port else ''}"


class OntapRest:
    def __init__(self, management_lif: str, username: str, password: str, trusted_ca_b64: str = ""):
        self.base = loopback_endpoint(management_lif) + "/api"
        self.session = requests.Session()
        self.session.auth = (username, password)
        self.session.headers.update({"Accept": "application/json", "X-Dot-Client-App": "trident"})
        # Given per request: a session-wide setting loses to REQUESTS_CA_BUNDLE from the environment.
        self.verify = _ca_file(trusted_ca_b64) if trusted_ca_b64 else False

    def get(self, path: str, **query) -> dict:
        return self._call("GET", path, query=query)

    def records(self, path: str, **query) -> list:
        """Every record of a collection, following ``_links.next`` as Trident does."""
        page = self._call("GET", path, query={"return_records": "true", **query})
        found = list(page.get("records") or [])
        while (page.get("_links") or {}).get("next"):
            page = self._call("GET", page["_links"]["next"]["href"].removeprefix("/api"))
            found.extend(page.get("records") or [])
        return found

    def one(self, path: str, **query):
        """The single record a query names, or None."""
        found = self.records(path, **query)
        return found[0] if found else None

    def post(self, path: str, body: dict) -> dict:
        return self._call("POST", path, body=body)

    def patch(self, path: str, body: dict) -> dict:
        return self._call("PATCH", path, body=body)

    def delete(self, path: str) -> dict:
        return self._call("DELETE", path)

    def _call(self, method: str, path: str, query=None, body=None) -> dict:
        try:
            response = self.session.request(method, self.base + path, params=query, json=body,
                                            verify=self.verify, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as error:
            raise OntapError(method, path, 0, f"connection failed: {error}") from None
        if response.status_code == 401:
            raise OntapError(method, path, 401, "Unauthorized: ONTAP rejected the username or password")
        payload = _json(response)
        if response.status_code >= 400:
            error = payload.get("error") or {}
            raise OntapError(method, path, response.status_code, error.get("message") or response.reason,
                             str(error.get("code", "")))
        if response.status_code == 202 and "job" in payload:
            self._wait(method, path, payload["job"]["uuid"])
        return payload

    def _wait(self, method: str, path: str, uuid: str) -> None:
        """Poll the job with Trident's back-off (1 s growing to 2 s) until it ends."""
        deadline, pause = time.monotonic() + JOB_TIMEOUT, 1.0
        while True:
            job = self.get(f"/cluster/jobs/{uuid}", fields="state,message,code")
            if job["state"] == "success":
                return
            if job["state"] == "failure":
                raise OntapError(method, path, 400, job.get("message", "job failed"), str(job.get("code", "")))
            if time.monotonic() > deadline:
                raise OntapError(method, path, 0, f"job {uuid} did not finish within {JOB_TIMEOUT:.0f}s")
            time.sleep(pause)
            pause = min(pause * 1.414, 2.0)


def _json(response) -> dict:
    try:
        return response.json() if response.content else {}
    except ValueError:
        return {}


@functools.lru_cache(maxsize=None)
def _ca_file(trusted_ca_b64: str) -> str:
    handle = tempfile.NamedTemporaryFile("wb", prefix="trident-ca-", suffix=".pem", delete=False)
    with handle:
        handle.write(base64.b64decode(trusted_ca_b64))
    return handle.name
