"""What Trident accepts in a backend config and in a StorageClass, and the words it refuses with.

Messages are Trident v26.06's (storage/factory, storage_drivers, persistent_store/crd,
frontend/csi/controller_helpers), so a TridentBackendConfig here fails with the status
message it would get on a cluster, up to the ONTAP-specific tail.
"""

import re
from dataclasses import dataclass, field

from kubernetes.utils import parse_quantity

DRIVER = "csi.trident.netapp.io"
NAS_DRIVERS = ("ontap-nas", "ontap-nas-economy", "ontap-nas-flexgroup")
SAN_DRIVERS = ("ontap-san", "ontap-san-economy")
SAN_TYPES = ("iscsi", "nvme", "fcp")
NAS_TYPES = ("nfs", "smb")
DELETION_POLICIES = ("delete", "retain")

# Keys of CommonStorageDriverConfig, OntapStorageDriverConfig and the two TBC-only keys.
_BACKEND_KEYS = frozenset({
    "version", "storageDriverName", "backendName", "debug", "debugTraceFlags", "disableDelete",
    "storagePrefix", "limitVolumeSize", "serialNumbers", "userState", "credentials", "deletionPolicy",
    "managementLIF", "dataLIF", "svm", "username", "password", "clientCertificate", "clientPrivateKey",
    "trustedCACertificate", "useREST", "sanType", "nasType", "useCHAP", "chapUsername",
    "chapInitiatorSecret", "chapTargetUsername", "chapTargetInitiatorSecret", "igroupName",
    "autoExportPolicy", "autoExportCIDRs", "nfsMountOptions", "qtreesPerFlexvol", "lunsPerFlexvol",
    "limitVolumePoolSize", "denyNewVolumePools", "limitAggregateUsage", "aggregate",
    "flexgroupAggregateList", "smbShare", "usageHeartbeat", "qtreePruneFlexvolsPeriod",
    "qtreeQuotaResizePeriod", "emptyFlexvolDeferredDeletePeriod", "cloneSplitDelay",
    "replicationPolicy", "replicationSchedule", "labels", "region", "zone", "supportedTopologies",
    "defaults", "storage",
})
_POOL_KEYS = frozenset({"labels", "region", "zone", "supportedTopologies", "defaults", "nasType", "smbShare"})
_DEFAULTS_KEYS = frozenset({
    "spaceAllocation", "spaceReserve", "snapshotPolicy", "snapshotReserve", "snapshotDir",
    "unixPermissions", "exportPolicy", "securityStyle", "splitOnClone", "fileSystemType", "encryption",
    "LUKSEncryption", "mirroring", "tieringPolicy", "qosPolicy", "adaptiveQosPolicy", "formatOptions",
    "skipRecoveryQueue", "adAdminUser", "size", "nameTemplate",
})
# What the CRD controller keeps out of a TBC spec: these belong in the Secret.
_SECRET_FIELDS = ("username", "password", "clientPrivateKey", "chapUsername", "chapInitiatorSecret",
                  "chapTargetUsername", "chapTargetInitiatorSecret")

# StorageClass attributes Trident knows (storage_attribute/common_attributes.go), by type.
_BOOL_ATTRIBUTES = frozenset({"snapshots", "clones", "encryption", "replication"})
_INT_ATTRIBUTES = frozenset({"IOPS"})
_STRING_ATTRIBUTES = frozenset({"backendType", "media", "provisioningType", "region", "zone", "nasType",
                                "sanType", "selector", "labels"})
_POOL_LIST_PARAMETERS = frozenset({"storagePools", "additionalStoragePools", "requiredStorage",
                                   "excludeStoragePools"})
_SC_PREFIX = "trident.netapp.io/"


class ConfigError(ValueError):
    """A refusal, worded as Trident words it (without the "Failed to create backend: " lead)."""


@dataclass
class BackendConfig:
    """A validated backend: the spec Trident stores (secrets never included) and the credentials."""
    spec: dict
    username: str = field(repr=False, default="")
    password: str = field(repr=False, default="")

    @property
    def name(self) -> str:
        return self.spec["backendName"]

    @property
    def driver(self) -> str:
        return self.spec["storageDriverName"]

    @property
    def san(self) -> bool:
        return self.driver in SAN_DRIVERS

    @property
    def protocol(self) -> str:
        return "block" if self.san else "file"

    @property
    def san_type(self) -> str:
        return (self.spec.get("sanType") or "iscsi").lower()

    @property
    def nas_type(self) -> str:
        return self.spec.get("nasType") or "nfs"

    @property
    def prefix(self) -> str:
        """The prefix in effect: absent, null or {} mean the default "trident" (parseRawStoragePrefix)."""
        prefix = self.spec.get("storagePrefix")
        return "trident" if prefix in (None, {}) else prefix

    @property
    def defaults(self) -> dict:
        return dict(self.spec.get("defaults") or {})

    @property
    def deletion_policy(self) -> str:
        return self.spec["deletionPolicy"].lower()

    @property
    def limit_volume_size(self):
        limit = self.spec.get("limitVolumeSize")
        return int(parse_quantity(limit)) if limit else None


def backend_config(tbc: dict, secret_data) -> BackendConfig:
    """Validate a TridentBackendConfig as the CRD controller and the driver factory do.

    ``secret_data(name)`` returns the Secret's decoded data, or None when it does not exist.
    """
    spec = dict(tbc.get("spec") or {})
    if not spec:
        raise ConfigError("empty Spec is not allowed")
    # The CRD controller reads these three from the raw map (exact keys); the drivers then
    # decode the whole config into their structs, as Go does.
    spec.setdefault("backendName", tbc["metadata"]["name"])
    spec.setdefault("deletionPolicy", "delete")
    if str(spec["deletionPolicy"]).lower() not in DELETION_POLICIES:
        raise ConfigError(f"invalid deletion policy applied: {spec['deletionPolicy']}")
    spec = decoded(spec)

    forbidden = [key for key in _SECRET_FIELDS if spec.get(key)]
    if forbidden:
        raise ConfigError(f"input contains forbidden attributes: [{' '.join(forbidden)}]")
    secret_name = _credentials_secret(spec.get("credentials"))

    if not spec.get("storageDriverName"):
        raise ConfigError("input failed validation: missing storage driver name in configuration file")
    if spec.get("version") != 1:
        raise ConfigError(f"input failed validation: unexpected config file version; found "
                          f"{spec.get('version', 0)}, expected 1")
    driver = spec["storageDriverName"]
    if driver not in NAS_DRIVERS + SAN_DRIVERS:
        raise ConfigError(f"unknown storage driver: {driver}")

    def problem(reason: str) -> ConfigError:
        return ConfigError(f"problem initializing storage driver '{driver}': {reason}")

    if driver in SAN_DRIVERS:
        if spec.get("sanType") and spec["sanType"].lower() not in SAN_TYPES:
            raise problem(f"invalid value for sanType: {spec['sanType']}")
        if spec.get("nasType"):
            raise problem("nasType is not supported for SAN drivers")
    else:
        if spec.get("sanType"):
            raise problem("sanType is only supported for SAN drivers")
        if spec.get("nasType") and spec["nasType"] not in NAS_TYPES:
            raise problem(f"invalid value for nasType: {spec['nasType']}")
    prefix = BackendConfig(spec).prefix
    if not isinstance(prefix, str):
        raise ConfigError(f"input failed validation: unable to parse storage prefix: invalid value for storage "
                          f"prefix: {prefix}")
    if not re.fullmatch(r"|[a-zA-Z_.-][a-zA-Z0-9_.-]*", prefix):
        raise problem("storage prefix may only contain letters/digits/underscore/dash and must begin "
                      "with letter/underscore/dash")

    data = secret_data(secret_name)
    if data is None:
        raise ConfigError("backend credentials not found")
    secrets = {key.lower(): value for key, value in data.items()}
    if (secrets.get("username") or secrets.get("password")) and secrets.get("clientprivatekey"):
        raise problem("more than one authentication method (username/password and clientPrivateKey) present "
                      "in backend config; please ensure only one authentication method is provided")
    if spec.get("useCHAP"):
        for key in ("chapUsername", "chapInitiatorSecret", "chapTargetUsername", "chapTargetInitiatorSecret"):
            if not secrets.get(key.lower()):
                raise problem(f"{key} field missing from backend secrets")
    return BackendConfig(spec, secrets.get("username", ""), secrets.get("password", ""))


def _credentials_secret(credentials) -> str:
    if not credentials:
        raise ConfigError("input is missing the credentials field")
    invalid = sorted(set(credentials) - {"name", "type"})
    if invalid:
        raise ConfigError(f"credentials field contains invalid fields '[{' '.join(invalid)}]' attribute")
    if "name" not in credentials:
        raise ConfigError("credentials field is missing 'name' attribute")
    if credentials.get("type", "secret") != "secret":
        raise ConfigError(f"credentials field does not support type '{credentials['type']}'")
    return credentials["name"]


def decoded(spec: dict) -> dict:
    """The config as Trident's drivers see it after a plain ``json.Unmarshal`` into their structs
    (InitializeOntapConfig, ValidateCommonSettings): a key the structs lack is dropped without a
    word, and a key that differs from a field's name only in case sets that field (Go matches
    case-insensitively). Keys come in sorted order, as the CRD controller re-marshals the spec,
    so of two spellings of one field the later in that order wins. Pools and defaults likewise."""
    result = _decode(spec, _BACKEND_KEYS)
    if isinstance(result.get("defaults"), dict):
        result["defaults"] = _decode(result["defaults"], _DEFAULTS_KEYS)
    if isinstance(result.get("storage"), list):
        pools = []
        for pool in result["storage"]:
            pool = _decode(pool, _POOL_KEYS) if isinstance(pool, dict) else pool
            if isinstance(pool, dict) and isinstance(pool.get("defaults"), dict):
                pool["defaults"] = _decode(pool["defaults"], _DEFAULTS_KEYS)
            pools.append(pool)
        result["storage"] = pools
    return result


def _decode(obj: dict, fields: frozenset) -> dict:
    by_fold = {name.lower(): name for name in fields}
    result = {}
    for key in sorted(obj):
        name = key if key in fields else by_fold.get(key.lower())
        if name is not None:
            result[name] = obj[key]
    return result


# --- StorageClasses ----------------------------------------------------------------------------

@dataclass
class StorageClassRequest:
    """A StorageClass as Trident reads it: attribute requests and pool lists."""
    name: str
    attributes: dict
    storage_pools: dict = None  # backend name pattern -> pool name patterns; None = any pool
    additional_pools: dict = field(default_factory=dict)
    exclude_pools: dict = field(default_factory=dict)


def storage_class_request(sc: dict) -> StorageClassRequest:
    """Parse a StorageClass as processStorageClass does; ConfigError names the first bad parameter."""
    request = StorageClassRequest(sc["metadata"]["name"], {})
    annotations = sc["metadata"].get("annotations") or {}
    parameters = dict(sc.get("parameters") or {})
    for key in ("selector", "additionalStoragePools"):
        if annotations.get(_SC_PREFIX + key):
            parameters[key] = annotations[_SC_PREFIX + key]
    for key, value in parameters.items():
        if key.startswith("csi.storage.k8s.io/") or key == "fsType":
            continue
        name = key.removeprefix(_SC_PREFIX)
        if name in _POOL_LIST_PARAMETERS:
            pools = _pool_list(value)
            if name == "storagePools":
                request.storage_pools = pools
            elif name == "excludeStoragePools":
                request.exclude_pools = pools
            else:
                request.additional_pools = pools
        elif name in _BOOL_ATTRIBUTES:
            if value.lower() not in ("true", "false", "1", "0", "t", "f"):
                raise ConfigError(f'strconv.ParseBool: parsing "{value}": invalid syntax')
            request.attributes[name] = value.lower() in ("true", "1", "t")
        elif name in _INT_ATTRIBUTES:
            if not value.isdigit():
                raise ConfigError(f'strconv.ParseInt: parsing "{value}": invalid syntax')
            request.attributes[name] = int(value)
        elif name in _STRING_ATTRIBUTES:
            request.attributes[name] = value
        else:
            raise ConfigError(f"unrecognized storage attribute: {name}")
    return request


def _pool_list(text: str) -> dict:
    """"backendA:pool1,pool2;backendB:.*" -> {"backendA": ["pool1", "pool2"], "backendB": [".*"]}"""
    pools = {}
    for entry in filter(None, (part.strip() for part in text.split(";"))):
        backend, _, names = entry.partition(":")
        if not names:
            raise ConfigError(f"invalid storage pool list: {text}")
        pools[backend.strip()] = [name.strip() for name in names.split(",") if name.strip()]
    return pools
