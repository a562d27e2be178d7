# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""MTV's inventory service: VMs, networks and datastores of a source provider, as Forklift sees them.

Facts from kubev2v/forklift v2.12.5 (``pkg/controller/provider/web``): requests carry a bearer token the
service checks with a TokenReview and a SubjectAccessReview (get the Provider); 206 with no body until the
collector has parity; 404 with ``X-Reason: ProviderNotFound`` while the provider is unknown to it; the VM
list skips templates and takes ``name=`` (the last path segment). OpenShift exposes the service as the
Route ``forklift-inventory`` in MTV's namespace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

ROUTE_API = "route.openshift.io/v1"
ROUTE_NAME = "forklift-inventory"
LOAD_SECONDS = 120
RETRY_PAUSE = 2
REQUEST_TIMEOUT = 60


def inventory_url(module, namespace):
    """The option, else the https address of the forklift-inventory Route (OpenShift)."""
    url = module.params.get("inventory_url")
    if url:
        return url.rstrip("/")
    if module.kube.served(ROUTE_API, "Route"):
        route = module.kube.get(module.kube.ref(ROUTE_API, "Route", ROUTE_NAME, namespace))
        host = ((route or {}).get("spec") or {}).get("host")
        if host:
            return "https://" + host
    raise ModuleError("Cannot find MTV's inventory service: there is no Route {0}/{1}. Give inventory_url (the "
                      "https address of the forklift-inventory service).".format(namespace, ROUTE_NAME))


class Inventory(object):
    """GETs on the inventory service with the caller's bearer token."""

    def __init__(self, module, namespace, clock=time.monotonic, sleep=time.sleep):
        params = module.params
        self.url = inventory_url(module, namespace)
        self.token = params.get("inventory_token") or module.kube.bearer_token()
        if not self.token:
            raise ModuleError("MTV's inventory service takes a bearer token, and the Kubernetes connection has none "
                              "(it uses a client certificate). Give inventory_token (for example a ServiceAccount "
                              "token allowed to get Providers in {0}).".format(namespace))
        self.ca_path = params.get("inventory_ca_cert")
        self.validate_certs = params.get("inventory_validate_certs", True)
        self._clock = clock
        self._sleep = sleep

    def get(self, path, what):
        """The JSON at ``path``; waits while the service is still loading (206, or the provider not known yet)."""
        deadline = self._clock() + LOAD_SECONDS
        while True:
            status, body, reason = self._request(path)
            if status == 200:
                return body
            if status in (401, 403):
                raise ModuleError("MTV's inventory service answered HTTP {0} for {1}: the token is {2}. Give an "
                                  "inventory_token whose user may get the Provider.".format(
                                      status, what, "not valid" if status == 401 else "not allowed to read it"))
            loading = status == 206 or (status == 404 and reason == "ProviderNotFound")
            if not loading or self._clock() >= deadline:
                raise ModuleError("MTV's inventory service answered HTTP {0}{1} for {2} ({3}{4}){5}.".format(
                    status, " ({0})".format(reason) if reason else "", what, self.url, path,
                    ", still loading after {0}s".format(LOAD_SECONDS) if loading else ""))
            self._sleep(RETRY_PAUSE)

    def _request(self, path):
        try:
            response = open_url(self.url + path, method="GET", headers={"Authorization": "Bearer " + self.token},
                                validate_certs=self.validate_certs, ca_path=self.ca_path, timeout=REQUEST_TIMEOUT)
            status = response.getcode()
            text = response.read()
            return status, (json.loads(text) if text and status == 200 else None), None
        except HTTPError as exc:
            return exc.code, None, exc.headers.get("X-Reason") if exc.headers else None
        except (URLError, OSError, ValueError) as exc:
            raise ModuleError("Could not reach MTV's inventory service at {0}: {1}. Check inventory_url and "
                              "inventory_ca_cert.".format(self.url, getattr(exc, "reason", exc)))

    def provider_path(self, provider):
        return "/providers/vsphere/{0}".format(provider["metadata"]["uid"])

    def vms(self, provider):
        """Every VM of the provider in one request (the list skips templates; it is always at full detail)."""
        return self.get(self.provider_path(provider) + "/vms?detail=all", "the VMs") or []

    def folders(self, provider):
        return self.get(self.provider_path(provider) + "/folders?detail=1", "the folders") or []

    def datacenters(self, provider):
        return self.get(self.provider_path(provider) + "/datacenters?detail=1", "the datacenters") or []

    def networks(self, provider):
        return self.get(self.provider_path(provider) + "/networks?detail=1", "the networks") or []

    def datastores(self, provider):
        return self.get(self.provider_path(provider) + "/datastores?detail=1", "the datastores") or []


# The options of every module that reads the inventory; documented in doc_fragments/mtv_inventory_options.py.
INVENTORY_ARG_SPEC = dict(
    inventory_url=dict(type="str"),
    inventory_token=dict(type="str", no_log=True),
    inventory_ca_cert=dict(type="path"),
    inventory_validate_certs=dict(type="bool", default=True),
)


def folder_paths(folders, datacenters):
    """{folder id: inventory path such as ``/DC0/vm/databases``}, from the folders' ``parent`` references.

    A folder's parent is another folder or, for a datacenter's top folders (``vm``, ``host``...), the datacenter.
    """
    by_id = dict((folder["id"], folder) for folder in folders)
    datacenter_names = dict((dc["id"], dc.get("name") or dc["id"]) for dc in datacenters)
    paths = {}

    def path_of(folder_id, seen):
        if folder_id not in paths:
            parent = (by_id[folder_id].get("parent") or {}).get("id")
            if parent in by_id and parent not in seen:
                prefix = path_of(parent, seen | set([folder_id]))
            else:
                prefix = "/" + datacenter_names[parent] if parent in datacenter_names else ""
            paths[folder_id] = prefix + "/" + (by_id[folder_id].get("name") or folder_id)
        return paths[folder_id]

    for folder_id in by_id:
        path_of(folder_id, set())
    return paths


def _components(path):
    return [part for part in path.strip("/").split("/") if part]


def find_folder(paths, wanted):
    """The path of the one folder ``wanted`` names: a name, a tail of its path, or its whole path (leading ``/``)."""
    given = _components(wanted)
    if not given:
        raise ModuleError("vm_folder is empty: give a folder name or its inventory path (for example /DC0/vm/apps).")
    absolute = wanted.startswith("/")
    matches = sorted(set(path for path in paths.values() if (
        _components(path) == given if absolute else _components(path)[-len(given):] == given)))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ModuleError("vm_folder {0} names several folders ({1}); give the folder's whole path. Nothing was "
                          "written.".format(wanted, ", ".join(matches)))
    raise ModuleError("vm_folder {0} is not a folder in the inventory of this provider (its VM folders: {1}). "
                      "Nothing was written.".format(wanted, ", ".join(sorted(
                          p for p in set(paths.values()) if "/vm/" in p + "/")) or "none"))


def in_folder(vm, paths, folder_path):
    """Whether the VM is in the folder ``folder_path`` or one of its subfolders."""
    path = paths.get((vm.get("parent") or {}).get("id"))
    return path is not None and (path == folder_path or path.startswith(folder_path + "/"))
