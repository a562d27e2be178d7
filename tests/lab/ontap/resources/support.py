"""EMS application logs (Trident's heartbeat) and the one private CLI table clients probe."""

from marshmallow import fields as mf
from netapp_ontap.resource import ResourceSchema
from netapp_ontap.resources import EmsApplicationLog

from .. import errors
from ..resource import Resource, now

_KEEP = 200
_REQUIRED = ("app_version", "category", "computer_name", "event_description", "event_id", "event_source",
             "severity")


class EmsApplicationLogs(Resource):
    ontap = EmsApplicationLog
    table = "ems_application_logs"
    owner = None
    readable = False
    svm_methods = frozenset({"POST"})

    def create(self, ctx, parent, body, params):
        for field in _REQUIRED:
            if body.get(field) in (None, ""):
                raise errors.missing(field)
        entry = dict(body, time=now())
        logs = ctx.table(self.table)
        logs.append(entry)
        del logs[:-_KEEP]
        return entry


class _OntapModeSchema(ResourceSchema):
    asa_r2 = mf.Boolean(data_key="ASA_R2")
    asa_next = mf.Boolean(data_key="ASA_NEXT")
    gettable_fields = ["asa_r2", "asa_next"]


class _OntapMode:
    """`debug smdb table OntapMode` through the private CLI passthrough; netapp.ontap's LUN
    modules read it (ONTAP < 9.17.1) to tell ASA r2 systems apart. The lab is not one."""

    _path = "/api/private/cli/debug/smdb/table/OntapMode"
    _keys: list = []
    _schema = _OntapModeSchema


class OntapMode(Resource):
    ontap = _OntapMode
    table = "ontap_mode"
    owner = None
    svm_methods = frozenset({"GET"})
    default_fields = ("ASA_R2", "ASA_NEXT")

    def rows(self, ctx, parent):
        return [{"ASA_R2": False, "ASA_NEXT": False}]
