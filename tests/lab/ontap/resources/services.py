"""Per-SVM protocol services: NFS, iSCSI and NVMe. An SVM must allow a protocol to run it."""

from netapp_ontap.resources import IscsiService, NfsService, NvmeService

from .. import errors
from ..resource import Resource, href, merge

_TABLES = {"nfs": "nfs_services", "iscsi": "iscsi_services", "nvme": "nvme_services"}
_PATHS = {"nfs": ("protocols", "nfs", "services"), "iscsi": ("protocols", "san", "iscsi", "services"),
          "nvme": ("protocols", "nvme", "services")}
_LABELS = {"nfs": "NFS", "iscsi": "iSCSI", "nvme": "NVMe", "fcp": "FC", "cifs": "CIFS", "s3": "S3",
           "ndmp": "NDMP"}


def find(ctx, protocol: str, svm_uuid: str) -> dict | None:
    table = _TABLES.get(protocol)
    return next((s for s in ctx.table(table) if s["svm"]["uuid"] == svm_uuid), None) if table else None


def service_href(protocol: str, svm_uuid: str) -> str:
    return href(*_PATHS[protocol], svm_uuid)


def _defaults(protocol: str, svm: dict, ctx) -> dict:
    if protocol == "iscsi":
        serial = ctx.cluster["uuid"].replace("-", "")
        return {"target": {"name": f"iqn.1992-08.com.netapp:sn.{serial}:vs.{svm['uuid'][:8]}", "alias": svm["name"]}}
    if protocol == "nfs":
        return {"state": "online", "protocol": {"v3_enabled": True, "v40_enabled": True, "v41_enabled": True,
                                                "v4_id_domain": "defaultv4iddomain.com"},
                "transport": {"tcp_enabled": True, "udp_enabled": True}, "vstorage_enabled": False,
                "showmount_enabled": True}
    return {}


def create_service(ctx, protocol: str, svm: dict, body: dict) -> dict:
    label = _LABELS[protocol]
    if protocol not in _TABLES:
        raise errors.OperationFailed(errors.NOT_SUPPORTED,
                                     f"The lab's ONTAP stand-in does not run the {label} service.")
    if not svm[protocol]["allowed"]:
        raise errors.OperationFailed(errors.PROTOCOL_NOT_ALLOWED,
                                     f'The {label} protocol is not allowed for SVM "{svm["name"]}". '
                                     f'Allow it on the SVM first ({protocol}.allowed).')
    if find(ctx, protocol, svm["uuid"]):
        raise errors.duplicate(f'An {label} service already exists for SVM "{svm["name"]}".', "svm.uuid")
    record = {"svm": ctx.resources["svms"].ref(svm), "enabled": True, **_defaults(protocol, svm, ctx)}
    merge(record, {k: v for k, v in body.items() if k != "svm"})
    ctx.table(_TABLES[protocol]).append(record)
    return record


def set_enabled(ctx, protocol: str, svm: dict, enabled: bool) -> None:
    service = find(ctx, protocol, svm["uuid"])
    if service:
        service["enabled"] = enabled
    elif enabled:
        create_service(ctx, protocol, svm, {})


class _Service(Resource):
    protocol: str
    default_fields = ("svm.name", "svm.uuid")

    def create(self, ctx, parent, body, params):
        return create_service(ctx, self.protocol, ctx.svm(body.get("svm")), body)

    def modify(self, ctx, parent, record, body, params):
        merge(record, {k: v for k, v in body.items() if k != "svm"})

    def delete(self, ctx, parent, record, params):
        ctx.table(self.table).remove(record)


class NfsServices(_Service):
    ontap = NfsService
    table = "nfs_services"
    protocol = "nfs"


class IscsiServices(_Service):
    ontap = IscsiService
    table = "iscsi_services"
    protocol = "iscsi"


class NvmeServices(_Service):
    ontap = NvmeService
    table = "nvme_services"
    protocol = "nvme"
