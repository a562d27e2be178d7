"""ONTAP REST errors: the exceptions the stand-in raises and the codes it answers with.

Where a code comes from matters, because clients branch on codes:

* The generic codes (1-8, 2621xx) are ONTAP's documented REST error codes.
* LUN_MAP_EXISTS, LUN_ALREADY_EXISTS, EXPORT_POLICY_NOT_FOUND, EXPORT_POLICY_RULE_EXISTS and
  NVME_SUBSYSTEM_EXISTS are codes Trident matches on (storage_drivers/ontap/api/abstraction_error.go).
* NO_SPACE, SVM_NOT_FOUND, PROTOCOL_NOT_ALLOWED and LUN_TOO_LARGE were not found in a public
  source: the values are the lab's, in the ranges ONTAP uses for those subsystems. Clients we
  know match such failures on the message, which follows ONTAP's wording where it is known.
"""

DUPLICATE_ENTRY = "1"
INVALID = "2"
NOT_SUPPORTED = "3"
ENTRY_DOESNT_EXIST = "4"
NOT_AUTHORIZED = "6"
IN_USE = "8"
INTERNAL = "262145"
UNEXPECTED_ARGUMENT = "262179"
INVALID_VALUE = "262185"
INVALID_CONTEXT = "262186"
FIELD_TWICE = "262188"
NO_VALUES = "262190"
NOT_SETTABLE = "262196"
INVALID_FIELD_VALUE = "262197"
BODY_NOT_ALLOWED = "262198"
INVALID_JSON = "262199"
POST_FILTER = "262211"
MISSING_VALUE = "262212"
NOT_READABLE = "262249"
NOT_QUERYABLE = "262250"
UNEXPECTED_ARRAY = "262255"

LUN_MAP_EXISTS = "5374922"
LUN_ALREADY_EXISTS = "5374242"
EXPORT_POLICY_NOT_FOUND = "1703954"
EXPORT_POLICY_RULE_EXISTS = "1704070"
NVME_SUBSYSTEM_EXISTS = "72090025"

NO_SPACE = "917552"
SVM_NOT_FOUND = "2621462"
PROTOCOL_NOT_ALLOWED = "2621574"
LUN_TOO_LARGE = "5374128"


class OntapError(Exception):
    """An error ONTAP reports in the HTTP response."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target

    def body(self) -> dict:
        error = {"message": self.message, "code": self.code}
        if self.target:
            error["target"] = self.target
        return {"error": error}


class OperationFailed(OntapError):
    """A failure of the operation itself rather than of the request.

    On an asynchronous endpoint ONTAP accepts the request and reports this in the job
    (state failure, integer code); on a synchronous one it is the HTTP error.
    """

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(status, code, message)


def not_found(target: str = "uuid") -> OntapError:
    return OntapError(404, ENTRY_DOESNT_EXIST, "entry doesn't exist", target)


def unexpected_argument(name: str, status: int = 400) -> OntapError:
    return OntapError(status, UNEXPECTED_ARGUMENT, f'Unexpected argument "{name}".', name)


def not_settable(field: str) -> OntapError:
    return OntapError(400, NOT_SETTABLE, f'Field "{field}" cannot be set in this operation.', field)


def invalid_value(field: str, value, expected: str) -> OntapError:
    return OntapError(400, INVALID_FIELD_VALUE,
                      f'The value "{value}" is invalid for field "{field}" ({expected}).', field)


def missing(field: str) -> OntapError:
    return OntapError(400, MISSING_VALUE, f'Missing value for required field "{field}".', field)


def not_authorized() -> OntapError:
    return OntapError(403, NOT_AUTHORIZED, "not authorized for that command")


def duplicate(message: str, target: str | None = None) -> OntapError:
    return OntapError(409, DUPLICATE_ENTRY, message, target)
