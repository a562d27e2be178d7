# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What Trident accepts: drivers, backend keys, StorageClass parameters, immutable fields.

Every check here runs before anything is written, so that a mistake fails with a
sentence instead of a backend or class that Trident silently refuses later.
Sources: NetApp/trident v26.06 (storage_drivers/types.go, config/config.go,
storage_attribute/common_attributes.go, frontend/csi/controller_helpers/kubernetes/plugin.go).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ontap.virtualization.plugins.module_utils import names
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

CSI_DRIVER = "csi.trident.netapp.io"
DEFAULT_NAMESPACE = "trident"
TBC_API_VERSION = "trident.netapp.io/v1"

NAS_DRIVERS = ("ontap-nas", "ontap-nas-economy", "ontap-nas-flexgroup")
SAN_DRIVERS = ("ontap-san", "ontap-san-economy")
DRIVERS = NAS_DRIVERS + SAN_DRIVERS
SAN_TYPES = ("iscsi", "nvme", "fcp")

# Backend config keys (TridentBackendConfig spec) for the ONTAP drivers.
BACKEND_KEYS = frozenset([
    "version", "storageDriverName", "backendName", "credentials", "deletionPolicy", "managementLIF",
    "dataLIF", "svm", "storagePrefix", "limitVolumeSize", "limitAggregateUsage", "aggregate",
    "flexgroupAggregateList", "useREST", "sanType", "nasType", "useCHAP", "igroupName", "autoExportPolicy",
    "autoExportCIDRs", "nfsMountOptions", "qtreesPerFlexvol", "lunsPerFlexvol", "limitVolumePoolSize",
    "denyNewVolumePools", "clientCertificate", "trustedCACertificate", "labels", "region", "zone",
    "supportedTopologies", "defaults", "storage", "debugTraceFlags", "smbShare", "qtreeQuotaResizeIncrement",
])
# Keys that must never appear in a backend spec: they belong in the credentials Secret.
SECRET_KEYS = frozenset(["username", "password", "clientPrivateKey", "chapUsername", "chapInitiatorSecret",
                         "chapTargetUsername", "chapTargetInitiatorSecret"])
DEFAULTS_KEYS = frozenset([
    "spaceAllocation", "spaceReserve", "snapshotPolicy", "snapshotReserve", "snapshotDir", "unixPermissions",
    "exportPolicy", "securityStyle", "splitOnClone", "fileSystemType", "encryption", "LUKSEncryption",
    "mirroring", "tieringPolicy", "qosPolicy", "adaptiveQosPolicy", "formatOptions", "skipRecoveryQueue",
    "adAdminUser", "size", "nameTemplate",
])
# Changing these on an existing backend is refused by Trident (the update would move
# existing volumes out from under it), so we refuse before writing.
IMMUTABLE_BACKEND_PATHS = ("spec.storageDriverName", "spec.storagePrefix", "spec.svm", "spec.sanType")

# StorageClass parameters Trident reads (after stripping the "trident.netapp.io/" prefix).
STORAGECLASS_ATTRIBUTES = frozenset([
    "backendType", "media", "provisioningType", "snapshots", "clones", "encryption", "replication", "IOPS",
    "region", "zone", "nasType", "sanType", "selector", "labels", "storagePools", "additionalStoragePools",
    "requiredStorage", "excludeStoragePools",
])
STORAGECLASS_CHOICES = {
    "backendType": DRIVERS,
    "media": ("hdd", "ssd", "hybrid"),
    "provisioningType": ("thin", "thick"),
    "nasType": ("nfs", "smb"),
    "sanType": SAN_TYPES,
    "snapshots": ("true", "false"),
    "clones": ("true", "false"),
    "encryption": ("true", "false"),
    "replication": ("true", "false"),
}
FS_TYPES = ("ext3", "ext4", "xfs", "nfs")
# ONTAP volume names start with the prefix (Trident's ValidateStoragePrefix).
_STORAGE_PREFIX = re.compile(r"^([a-zA-Z_.-][a-zA-Z0-9_.-]*)?$")


def is_san(driver):
    return driver in SAN_DRIVERS


def as_trident_string(value):
    """Trident reads every default as a string: true -> "true", 10 -> "10"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def string_parameters(parameters, option="parameters"):
    """A class's parameters as the map of strings Kubernetes keeps; a nested value is refused naming its key."""
    nested = sorted(key for key, value in (parameters or {}).items() if isinstance(value, (dict, list)))
    if nested:
        keys = ", ".join("{0}.{1}".format(option, key) for key in nested)
        raise ModuleError("{0} must be a string, number or boolean (a class's parameters are a map of strings), "
                          "not a {1}.".format(keys, type(parameters[nested[0]]).__name__))
    return dict((key, as_trident_string(value)) for key, value in (parameters or {}).items())


def backend_problems(spec):
    """What Trident would refuse in a TridentBackendConfig spec, as sentences."""
    problems = []
    driver = spec.get("storageDriverName")
    if driver not in DRIVERS:
        problems.append("storage driver '{0}' is not one Trident supports for ONTAP; use one of {1}".format(
            driver, ", ".join(DRIVERS)))
    for key in sorted(spec):
        if key in SECRET_KEYS:
            problems.append("'{0}' must not be in the backend config: Trident reads it from the credentials "
                            "Secret (pass it as a module option instead)".format(key))
        elif key not in BACKEND_KEYS:
            problems.append("'{0}' is not a backend key Trident knows for the ONTAP drivers".format(key))
    san_type = spec.get("sanType")
    if san_type is not None:
        if not is_san(driver):
            problems.append("sanType applies only to the ontap-san drivers, not to '{0}'".format(driver))
        elif san_type not in SAN_TYPES:
            problems.append("invalid value for sanType: '{0}' (use iscsi, nvme or fcp)".format(san_type))
        elif driver == "ontap-san-economy" and san_type != "iscsi":
            problems.append("ontap-san-economy supports only iSCSI, not '{0}'".format(san_type))
    if is_san(driver) and spec.get("nasType"):
        problems.append("nasType must not be set on a SAN backend")
    if is_san(driver) and spec.get("autoExportPolicy") is not None:
        problems.append("autoExportPolicy is for NAS backends only")
    if san_type == "nvme" and spec.get("useREST") is False:
        problems.append("NVMe/TCP backends need the REST API: useREST must not be false")
    prefix = spec.get("storagePrefix")
    if prefix is not None and not _STORAGE_PREFIX.match(str(prefix)):
        problems.append("storage prefix '{0}' may only contain letters, digits, underscore, dot and dash, and must "
                        "begin with a letter, underscore, dot or dash".format(prefix))
    limit = spec.get("limitVolumeSize")
    if limit is not None and not names.is_quantity(limit):
        problems.append("limitVolumeSize '{0}' is not a size such as 50Gi".format(limit))
    for key in sorted(spec.get("defaults") or {}):
        if key not in DEFAULTS_KEYS:
            problems.append("'{0}' is not a volume default Trident knows".format(key))
    return problems


def storageclass_problems(parameters):
    """What Trident (or the CSI sidecars) would refuse in a StorageClass's parameters."""
    problems = []
    for key, value in sorted(parameters.items()):
        if key.startswith("csi.storage.k8s.io/"):
            if key == "csi.storage.k8s.io/fstype" and value not in FS_TYPES:
                problems.append("fstype '{0}' is not one of {1}".format(value, ", ".join(FS_TYPES)))
            continue
        if key == "fsType":
            if value not in FS_TYPES:
                problems.append("fsType '{0}' is not one of {1}".format(value, ", ".join(FS_TYPES)))
            continue
        name = key[len("trident.netapp.io/"):] if key.startswith("trident.netapp.io/") else key
        if name not in STORAGECLASS_ATTRIBUTES:
            problems.append("'{0}' is not a StorageClass parameter Trident accepts; Trident would ignore the whole "
                            "class. Known parameters: {1}".format(key, ", ".join(sorted(STORAGECLASS_ATTRIBUTES))))
            continue
        choices = STORAGECLASS_CHOICES.get(name)
        if choices and str(value) not in choices:
            problems.append("parameter {0}='{1}' must be one of {2}".format(key, value, ", ".join(choices)))
        if name == "IOPS" and not str(value).isdigit():
            problems.append("parameter IOPS='{0}' must be a whole number".format(value))
    backend_type = str(parameters.get("backendType", parameters.get("trident.netapp.io/backendType", "")))
    san_type = parameters.get("sanType", parameters.get("trident.netapp.io/sanType"))
    if san_type is not None and backend_type in NAS_DRIVERS:
        problems.append("sanType applies to SAN classes only; with backendType {0} the class matches no backend".format(
            backend_type))
    return problems
