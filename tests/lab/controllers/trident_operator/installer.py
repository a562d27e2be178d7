"""What the operator's installer checks and creates (operator/controllers/orchestrator/installer, v26.06.0)."""

from lab.controllers.trident.core import GROUP_VERSION

CSI_DRIVER = "csi.trident.netapp.io"
LOG_FORMATS = ("text", "json")
NODE_PREP_PROTOCOLS = ("iscsi",)


class InstallError(Exception):
    pass


def trident_version(operator_version: str) -> str:
    """The Trident version of a bundle version: 26.6.0 -> 26.06.0 (Trident pads its month)."""
    major, minor, patch = operator_version.split(".")
    return f"{int(major)}.{int(minor):02d}.{int(patch)}"


def node_prep(spec: dict) -> list:
    """protocol.FormatProtocols: trimmed and lower-cased."""
    return [str(p).strip().lower() for p in spec.get("nodePrep") or []]


def prechecks(spec: dict) -> None:
    """setInstallationParams' prechecks in their order: logFormatPrechecks, then protocol.ValidateProtocols."""
    log_format = spec.get("logFormat") or "text"
    if log_format not in LOG_FORMATS:
        raise InstallError(f"'{log_format}' is not a valid log format")
    protocols = node_prep(spec)
    if len(protocols) > 1:
        raise InstallError("only one protocol (iSCSI) is supported at this time but node prep protocol set to "
                           f"'[{' '.join(protocols)}]'")
    if protocols and protocols[0] not in NODE_PREP_PROTOCOLS:
        raise InstallError(f"'[{protocols[0]}]' is not a valid node prep protocol")


def _flag(value) -> str:
    return "true" if value else "false"


def installation_params(spec: dict) -> dict:
    """status.currentInstallationParams (TridentOrchestratorSpecValues): flags as strings, as upstream writes them."""
    return {"IPv6": _flag(spec.get("IPv6")), "silenceAutosupport": _flag(spec.get("silenceAutosupport")),
            "excludeAutosupport": _flag(spec.get("excludeAutosupport")), "windows": _flag(spec.get("windows")),
            "logFormat": spec.get("logFormat") or "text", "imageRegistry": spec.get("imageRegistry") or "",
            "nodePrep": node_prep(spec), "logLevel": spec.get("logLevel") or "info",
            "enableForceDetach": _flag(spec.get("enableForceDetach"))}


def owner(torc: dict) -> dict:
    meta = torc["metadata"]
    return {"apiVersion": torc["apiVersion"], "kind": torc["kind"], "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


def non_operator_installation(api):
    """The namespace of a Trident no TridentOrchestrator installed (the CSIDriver has no such owner), or None."""
    driver = api.get("storage.k8s.io/v1", "CSIDriver", CSI_DRIVER)
    if driver is None or any(ref.get("kind") == "TridentOrchestrator"
                             for ref in driver["metadata"].get("ownerReferences") or []):
        return None
    versions = api.list(GROUP_VERSION, "TridentVersion")
    return versions[0]["metadata"]["namespace"] if versions else "trident"


def remove_installation(api, namespace: str) -> None:
    """uninstallTridentAll: the CSI driver and the controller go; Trident's own records (CRs) stay."""
    api.delete("storage.k8s.io/v1", "CSIDriver", CSI_DRIVER)
    api.delete(GROUP_VERSION, "TridentVersion", "trident", namespace)


def install(api, torc: dict, version: str) -> None:
    """InstallOrPatchTrident's result: the namespace, the CSIDriver, TridentNodes, then the running controller."""
    spec, namespace = torc["spec"], torc["spec"].get("namespace") or "default"
    api.ensure({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    driver = api.ensure({"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
                         "metadata": {"name": CSI_DRIVER, "labels": {"app": CSI_DRIVER}},
                         "spec": {"attachRequired": True}})
    if not driver["metadata"].get("ownerReferences"):
        api.patch(driver, {"metadata": {"ownerReferences": [owner(torc)]}})
    for node in api.list("v1", "Node"):
        ensure_trident_node(api, node, namespace, "iscsi" in node_prep(spec))
    record = {"apiVersion": GROUP_VERSION, "kind": "TridentVersion",
              "metadata": {"name": "trident", "namespace": namespace},
              "trident_version": version, "trident_api_version": "1", "publicationsSynced": True}
    current = api.ensure(record)
    if current.get("trident_version") != version:
        api.patch(current, {"trident_version": version})


def ensure_trident_node(api, node: dict, namespace: str, prepared: bool) -> None:
    """The node plugin's registration (nodeGetInfo): IQN, addresses, and the services found on the host.

    RHCOS ships iscsi-initiator-utils but leaves iscsid and multipathd off; node prep for iSCSI
    (internal/nodeprep, RHCOS instructions) enables them, so only then is iSCSI among the services.
    """
    name = node["metadata"]["name"]
    addresses = [a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a["type"] == "InternalIP"]
    host_info = {"os": {"distro": "rhcos", "version": "9.6"}, "services": ["iSCSI"] if prepared else []}
    body = {"apiVersion": GROUP_VERSION, "kind": "TridentNode", "metadata": {"name": name, "namespace": namespace},
            "name": name, "iqn": f"iqn.1994-05.com.redhat:{name}", "ips": addresses, "hostInfo": host_info,
            "deleted": False, "publicationState": "clean", "logLevel": "info", "logWorkflows": "", "logLayers": ""}
    current = api.ensure(body)
    if current.get("hostInfo") != host_info:
        api.patch(current, {"hostInfo": host_info})
