"""vSphere through pyVmomi, as Forklift's vSphere collector reads it (container/vsphere at v2.12.5).

`connect(url, user, password, cafile | insecure)` logs in at the provider's URL exactly as
written (the SOAP endpoint is the URL's path: a URL without /sdk fails as it does upstream);
`collect(service)` reads the inventory in one property-collector pass per kind, naming each
property as the collector does (whole objects such as `runtime` are not read: pyVmomi cannot
parse vcsim's empty enum values in them).
"""

import ssl
import urllib.parse
from dataclasses import dataclass, field

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

VM_PROPERTIES = (
    "name", "parent", "config.uuid", "config.instanceUuid", "config.firmware", "config.template",
    "config.changeTrackingEnabled", "config.extraConfig", "config.hardware.numCPU",
    "config.hardware.numCoresPerSocket", "config.hardware.memoryMB", "config.hardware.device", "config.guestId",
    "config.guestFullName", "config.cpuHotAddEnabled", "config.cpuHotRemoveEnabled", "config.memoryHotAddEnabled",
    "runtime.powerState", "runtime.host", "runtime.connectionState", "runtime.consolidationNeeded",
    "snapshot", "guest.toolsStatus", "guest.toolsRunningStatus", "guest.toolsVersionStatus2", "guest.hostName",
    "guest.ipAddress", "guest.guestFullName", "guest.net", "summary.storage.committed",
)
HOST_PROPERTIES = ("name", "parent", "runtime.inMaintenanceMode", "runtime.connectionState", "datastore",
                   "network", "summary.hardware.numCpuPkgs", "summary.hardware.numCpuCores",
                   "summary.hardware.memorySize", "config.product.name", "config.product.version", "vm")
DATASTORE_PROPERTIES = ("name", "parent", "summary.type", "summary.capacity", "summary.freeSpace",
                        "summary.maintenanceMode", "info")
NETWORK_PROPERTIES = ("name", "parent")
DVPG_PROPERTIES = ("name", "parent", "key", "config.distributedVirtualSwitch", "config.defaultPortConfig")
NAMED_PROPERTIES = ("name", "parent")


class LoginRefused(Exception):
    """vSphere refused the credentials (upstream maps it to HTTP 401: ConnectionAuthFailed)."""


@dataclass
class Snapshot:
    """What one collection pass read, by kind: {moRef id: {property path: value}}."""
    about: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)


def trusting(cafile: str = None, cadata: str = None) -> ssl.SSLContext:
    """A client context that trusts the given certificates as Go's x509 pool does (Forklift is Go): any certificate
    in the pool anchors a chain, a pinned leaf too (OpenSSL's X509_V_FLAG_PARTIAL_CHAIN)."""
    context = ssl.create_default_context(cafile=cafile, cadata=cadata)
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


REQUEST_TIMEOUT = 120.0  # a vCenter that stops answering fails the reconcile (logged, retried) instead of hanging it


def connect(url: str, user: str, password: str, cafile: str = None, cadata: str = None, insecure: bool = False,
            timeout: float = 10.0):
    parsed = urllib.parse.urlsplit(url)
    if insecure:
        context = ssl._create_unverified_context()  # the user asked for it (insecureSkipVerify)
    else:
        context = trusting(cafile=cafile, cadata=cadata)
    try:
        return SmartConnect(protocol=parsed.scheme or "https", host=parsed.hostname, port=parsed.port or 443,
                            path=parsed.path or "/", user=user, pwd=password, sslContext=context,
                            connectionPoolTimeout=timeout, httpConnectionTimeout=REQUEST_TIMEOUT,
                            disableSslCertValidation=insecure)
    except vim.fault.InvalidLogin as error:
        raise LoginRefused(error.msg) from error


def disconnect(service) -> None:
    Disconnect(service)


def _retrieve(content, kind, properties) -> dict:
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(
                obj=view, skip=True, selectSet=[vmodl.query.PropertyCollector.TraversalSpec(
                    name="view", path="view", skip=False, type=vim.view.ContainerView)])],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=kind, pathSet=list(properties))])
        found = {}
        result = content.propertyCollector.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
        while result:
            for obj in result.objects:
                if isinstance(obj.obj, kind):
                    found[obj.obj._moId] = {"_ref": obj.obj, **{p.name: p.val for p in obj.propSet or []}}
            result = (content.propertyCollector.ContinueRetrievePropertiesEx(result.token)
                      if result.token else None)
        return found
    finally:
        view.Destroy()


def collect(service) -> Snapshot:
    content = service.RetrieveContent()
    about = content.about
    snapshot = Snapshot(about={"apiVersion": about.apiVersion, "product": about.fullName,
                               "instanceUuid": about.instanceUuid, "apiType": about.apiType})
    dvpgs = _retrieve(content, vim.dvs.DistributedVirtualPortgroup, DVPG_PROPERTIES)
    networks = {ref: props for ref, props in _retrieve(content, vim.Network, NETWORK_PROPERTIES).items()
                if ref not in dvpgs}
    snapshot.objects = {
        "datacenters": _retrieve(content, vim.Datacenter, NAMED_PROPERTIES),
        "folders": _retrieve(content, vim.Folder, NAMED_PROPERTIES),
        "clusters": _retrieve(content, vim.ClusterComputeResource, NAMED_PROPERTIES),
        "computeresources": _retrieve(content, vim.ComputeResource, NAMED_PROPERTIES),
        "hosts": _retrieve(content, vim.HostSystem, HOST_PROPERTIES),
        "datastores": _retrieve(content, vim.Datastore, DATASTORE_PROPERTIES),
        "networks": {**networks, **dvpgs},
        "switches": _retrieve(content, vim.DistributedVirtualSwitch, NAMED_PROPERTIES),
        "vms": _retrieve(content, vim.VirtualMachine, VM_PROPERTIES),
    }
    return snapshot
