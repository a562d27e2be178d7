"""Trident's ONTAP storage drivers, on the lab's ONTAP: backend initialisation, storage pools,
and the volume, clone and snapshot operations the CSI controller asks for.

Calls, names and sizes follow Trident v26.06 (storage_drivers/ontap: ontap_common.go,
ontap_nas.go, ontap_san.go, ontap_san_nvme.go; api/ontap_rest.go): volumes are named
``<storagePrefix>_<pv name>`` with dashes turned to underscores, a SAN volume holds one LUN
``/vol/<volume>/lun0`` (NVMe: namespace ``/vol/<volume>/namespace0``) in a FlexVol 10 % larger,
clones are FlexClones of a snapshot on the source's SVM, and errors carry Trident's words.
The economy and FlexGroup drivers are validated and bound like the others but do not
provision: the lab's ONTAP has no qtrees or FlexGroups.
"""

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lab.controllers.trident import ontap_client
from lab.controllers.trident.config import BackendConfig, StorageClassRequest
from lab.controllers.trident.ontap_client import OntapError, OntapRest

MINIMUM_VOLUME_SIZE = 20 * 1024 * 1024  # MinimumVolumeSizeBytes
LUN_METADATA_BUFFER = 1.1  # LUNMetadataBufferMultiplier
_LIF_SERVICES = {"nfs": "data_nfs", "smb": "data_cifs", "iscsi": "data_iscsi", "nvme": "data_nvme_tcp",
                 "fcp": "data_fcp"}
_LIF_LABELS = {"nfs": "NAS", "smb": "NAS", "iscsi": "iSCSI", "nvme": "NVMe", "fcp": "FC"}
_SIMULATED_DRIVERS = ("ontap-nas", "ontap-san")
_BUSY_CODES = ("8", "1638554")  # entry in use / snapshot busy


class DriverError(Exception):
    """A driver failure, worded as Trident reports it."""


@dataclass
class Pool:
    """A storage pool: an aggregate of the SVM (physical) or an entry of ``storage`` (virtual)."""
    backend: str
    name: str
    aggregates: list
    offers: dict
    labels: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)


class OntapDriver:
    """One backend's driver; ``initialize()`` first, as Trident does on every backend add/update."""

    def __init__(self, config: BackendConfig):
        self.config = config
        self.rest = None
        self.svm = config.spec.get("svm", "")

    # --- initialisation ----------------------------------------------------------------------

    def initialize(self) -> None:
        driver = self.config.driver
        spec = self.config.spec
        lif = spec.get("managementLIF", "")
        if not lif:
            raise DriverError(f"error initializing {driver} driver: lookup : no such host "
                              "(managementLIF is not set)")
        client_error = f"error initializing {driver} driver: could not create Data ONTAP API client"
        if spec.get("useREST") is False:
            raise DriverError(f"{client_error}: error creating ONTAP API client: the lab's ONTAP serves "
                              "REST only; remove useREST: false from the backend config")
        try:
            self.rest = OntapRest(lif, self.config.username, self.config.password,
                                  spec.get("trustedCACertificate", ""))
            self.rest.get("/cluster", fields="version")
            self._ensure_svm()
        except (ontap_client.NotLoopback, OntapError, _SvmError) as error:
            raise DriverError(f"{client_error}: error creating ONTAP REST API client: {error}") from None
        self._check_data_lifs()
        if not self._aggregates():
            raise DriverError(f"could not configure storage pools: SVM {self.svm} has no assigned aggregates")

    def _ensure_svm(self) -> None:
        if self.svm:
            if not self.rest.one("/svm/svms", name=self.svm, fields="uuid"):
                raise _SvmError(f"unable to get details for SVM {self.svm}; unexpected result")
            return
        svms = self.rest.records("/svm/svms", name="*", fields="uuid")
        if len(svms) != 1:
            raise _SvmError("cannot derive SVM to use; please specify SVM in config file")
        self.svm = svms[0]["name"]

    def _check_data_lifs(self) -> None:
        protocol = self.config.san_type if self.config.san else self.config.nas_type
        lifs = self.rest.records("/network/ip/interfaces", services=_LIF_SERVICES[protocol],
                                 **{"svm.name": self.svm, "fields": "ip.address,state"})
        addresses = [lif["ip"]["address"] for lif in lifs if lif.get("state", "up") == "up"]
        missing = f"no {_LIF_LABELS[protocol]} data LIFs found on SVM {self.svm}"
        if self.config.san:
            if not addresses:
                raise DriverError(missing)
            return
        if not addresses:
            raise DriverError(f"error validating {self.config.driver} driver: {missing}")
        data_lif = self.config.spec.get("dataLIF", "").strip("[]")
        if data_lif and data_lif not in addresses:
            raise DriverError(f"error validating {self.config.driver} driver: data LIF validation failed: "
                              f"could not find Data LIF for {data_lif}")

    def _aggregates(self) -> list:
        svm = self.rest.one("/svm/svms", name=self.svm, fields="aggregates")
        names = [a["name"] for a in (svm or {}).get("aggregates") or []]
        wanted = self.config.spec.get("aggregate")
        if wanted:
            if wanted not in names:
                raise DriverError(f"could not configure storage pools: aggregate {wanted} does not exist or "
                                  f"is not assigned to SVM {self.svm}")
            return [wanted]
        return names

    # --- pools -------------------------------------------------------------------------------

    def pools(self) -> list:
        """The backend's pools with the attributes they offer (InitializeStoragePoolsCommon)."""
        spec, aggregates = self.config.spec, self._aggregates()
        base = {"backendType": self.config.driver, "snapshots": True,
                "clones": self.config.driver != "ontap-nas-economy", "encryption": True, "replication": False,
                "provisioningType": {"thick", "thin"}}
        base["sanType" if self.config.san else "nasType"] = (self.config.san_type if self.config.san
                                                              else self.config.nas_type)
        if not spec.get("storage"):
            return [Pool(self.config.name, name, [name], self._offers(base, spec, name),
                         dict(spec.get("labels") or {}), self.config.defaults)
                    for name in aggregates]
        pools = []
        for index, virtual in enumerate(spec["storage"]):
            defaults = {**self.config.defaults, **(virtual.get("defaults") or {})}
            labels = {**(spec.get("labels") or {}), **(virtual.get("labels") or {})}
            located = {**spec, **{k: virtual[k] for k in ("region", "zone") if k in virtual}}
            pools.append(Pool(self.config.name, f"{self.config.name}_pool_{index}", aggregates,
                              self._offers(base, located, None), labels, defaults))
        return pools

    def _offers(self, base: dict, located: dict, aggregate) -> dict:
        offers = dict(base)
        offers.update({k: located[k] for k in ("region", "zone") if located.get(k)})
        media = self._media(aggregate) if aggregate else None
        if media:
            offers["media"] = media
        return offers

    def _media(self, aggregate: str):
        """hdd, hybrid or ssd; unknown when the credentials may not read aggregates (vsadmin)."""
        try:
            record = self.rest.one("/storage/aggregates", name=aggregate, fields="block_storage.storage_type")
        except OntapError:
            return None
        return ((record or {}).get("block_storage") or {}).get("storage_type")

    # --- volumes -----------------------------------------------------------------------------

    def internal_name(self, name: str) -> str:
        prefix = self.config.prefix
        return re.sub(r"[-.]", "_", f"{prefix}_{name}" if prefix else name)

    def create(self, name: str, size: int, pool: Pool) -> dict:
        """Create the volume for PV ``name`` on ``pool``; returns Trident's volume config."""
        self._require_simulated()
        internal = self.internal_name(name)
        defaults = pool.defaults
        if size < MINIMUM_VOLUME_SIZE:  # CheckMinVolumeSize
            raise DriverError(f"requested volume size ({size} bytes) is too small; the minimum volume size is "
                              f"{MINIMUM_VOLUME_SIZE} bytes")
        self._check_size_limit(size)
        reserve = _snapshot_reserve(defaults)
        volume_size = math.floor(size / (1 - reserve / 100)) if reserve else size
        body = {"name": internal, "svm": {"name": self.svm}, "aggregates": [{"name": pool.aggregates[0]}],
                "guarantee": {"type": defaults.get("spaceReserve", "none")},
                "snapshot_policy": {"name": defaults.get("snapshotPolicy", "none")},
                "space": {"snapshot": {"reserve_percent": reserve}},
                "comment": json.dumps({"provisioning": pool.labels}) if pool.labels else ""}
        if "encryption" in defaults:
            body["encryption"] = {"enabled": str(defaults["encryption"]).lower() == "true"}
        if self.config.san:
            body["size"] = int(LUN_METADATA_BUFFER * volume_size)
        else:
            body.update(size=volume_size, snapshot_directory_access_enabled=_true(defaults.get("snapshotDir")),
                        nas={"export_policy": {"name": self._export_policy(defaults)},
                             "security_style": defaults.get("securityStyle", "unix"),
                             "unix_permissions": _octal(defaults.get("unixPermissions", "---rwxrwxrwx")),
                             "path": f"/{internal}"})
        try:
            self.rest.post("/storage/volumes", body)
            if self.config.san:
                self._create_block_device(internal, size)
        except OntapError as error:
            raise DriverError(f"ONTAP-{'SAN' if self.config.san else 'NAS'} pool {pool.name}/"
                              f"{pool.aggregates[0]}; error creating volume {internal}: {error}") from None
        return {"internalName": internal, "size": str(size), "pool": pool.name}

    def _create_block_device(self, internal: str, size: int) -> None:
        if self.config.san_type == "nvme":
            self.rest.post("/storage/namespaces", {
                "name": f"/vol/{internal}/namespace0", "svm": {"name": self.svm}, "os_type": "linux",
                "space": {"size": size, "block_size": 4096}})
        else:
            self.rest.post("/storage/luns", {
                "name": f"/vol/{internal}/lun0", "svm": {"name": self.svm}, "os_type": "linux",
                "space": {"size": size, "guarantee": {"requested": False}}})

    def _export_policy(self, defaults: dict) -> str:
        if not self.config.spec.get("autoExportPolicy"):
            return defaults.get("exportPolicy", "default")
        policy = f"{self.config.prefix}empty"  # getEmptyExportPolicyName
        if not self.rest.one("/protocols/nfs/export-policies", name=policy, **{"svm.name": self.svm}):
            self.rest.post("/protocols/nfs/export-policies", {"name": policy, "svm": {"name": self.svm}})
        return policy

    def create_clone(self, name: str, source_internal: str, snapshot_internal: str = "") -> dict:
        """A FlexClone of ``source_internal`` (cloneFlexvol); without a snapshot, one is taken first."""
        self._require_simulated()
        internal = self.internal_name(name)
        try:
            if not snapshot_internal:
                snapshot_internal = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
                self._snapshot(source_internal, snapshot_internal)
            self.rest.post("/storage/volumes", {
                "name": internal, "svm": {"name": self.svm},
                "clone": {"parent_volume": {"name": source_internal},
                          "parent_snapshot": {"name": snapshot_internal}, "is_flexclone": True}})
            if not self.config.san:
                volume = self._volume(internal)
                self.rest.patch(f"/storage/volumes/{volume['uuid']}", {
                    "nas": {"path": f"/{internal}",
                            "export_policy": {"name": self._export_policy(self.config.defaults)}}})
        except OntapError as error:
            raise DriverError(f"error creating clone {internal} of volume {source_internal}: {error}") from None
        return {"internalName": internal, "cloneSourceSnapshotInternal": snapshot_internal}

    def destroy(self, internal: str, automatic_snapshot: str = "") -> None:
        """Delete the volume (its LUN or namespace goes with it) and the snapshot its clone took."""
        try:
            volume = self._volume(internal)
            if volume:
                self.rest.delete(f"/storage/volumes/{volume['uuid']}")
            if automatic_snapshot:
                parent, snapshot = automatic_snapshot.split("/", 1)
                self.delete_snapshot(parent, snapshot)
        except OntapError as error:
            raise DriverError(f"error destroying volume {internal}: {error}") from None

    def resize(self, internal: str, size: int) -> None:
        """Grow the volume (and its LUN or namespace) to ``size`` bytes, as Trident's Resize does:
        the FlexVol keeps its snapshot reserve on top (resizeValidation, CalculateVolumeSizeBytes)."""
        self._check_size_limit(size)
        try:
            volume = self._volume(internal)
            if volume is None:
                raise DriverError(f"volume {internal} does not exist")
            space = self.rest.get(f"/storage/volumes/{volume['uuid']}",
                                  fields="space.snapshot.reserve_percent").get("space") or {}
            reserve = int((space.get("snapshot") or {}).get("reserve_percent") or 0)
            flexvol = math.floor(size / (1 - reserve / 100)) if reserve else size
            if not self.config.san:
                self.rest.patch(f"/storage/volumes/{volume['uuid']}", {"size": flexvol})
                return
            self.rest.patch(f"/storage/volumes/{volume['uuid']}", {"size": int(LUN_METADATA_BUFFER * flexvol)})
            path, device = self._block_device(internal)
            self.rest.patch(f"/storage/{path}/{device['uuid']}", {"space": {"size": size}})
        except OntapError as error:
            raise DriverError(f"error resizing volume {internal}: {error}") from None

    def volume_size(self, internal: str) -> int:
        """What a snapshot of the volume restores to: the LUN or namespace size, or the data used."""
        if self.config.san:
            return int(self._block_device(internal)[1]["space"]["size"])
        volume = self._volume(internal)
        return int((self.rest.get(f"/storage/volumes/{volume['uuid']}", fields="space.used")
                    .get("space") or {}).get("used", 0))

    def _block_device(self, internal: str) -> tuple:
        path = "namespaces" if self.config.san_type == "nvme" else "luns"
        return path, self.rest.one(f"/storage/{path}", **{"location.volume.name": internal,
                                                          "svm.name": self.svm, "fields": "space.size"})

    # --- snapshots ---------------------------------------------------------------------------

    def create_snapshot(self, internal: str, snapshot: str) -> dict:
        try:
            created = self._snapshot(internal, snapshot)
            return {"created": created["create_time"], "size": self.volume_size(internal)}
        except OntapError as error:
            raise DriverError(f"could not create snapshot {snapshot} of volume {internal}: {error}") from None

    def delete_snapshot(self, internal: str, snapshot: str) -> None:
        """Delete a snapshot; one a FlexClone still uses makes Trident split that clone and fail,
        so that a later attempt succeeds (SplitVolumeFromBusySnapshot)."""
        try:
            volume = self._volume(internal)
            found = volume and self.rest.one(f"/storage/volumes/{volume['uuid']}/snapshots", name=snapshot)
            if not found:
                return
            try:
                self.rest.delete(f"/storage/volumes/{volume['uuid']}/snapshots/{found['uuid']}")
            except OntapError as error:
                if error.code in _BUSY_CODES:
                    for clone in self.rest.records("/storage/volumes", **{
                            "clone.parent_volume.name": internal, "clone.parent_snapshot.name": snapshot,
                            "svm.name": self.svm}):
                        self.rest.patch(f"/storage/volumes/{clone['uuid']}", {"clone": {"split_initiated": True}})
                raise
        except OntapError as error:
            raise DriverError(f"error deleting snapshot {snapshot} of volume {internal}: {error}") from None

    def has_dependents(self, internal: str) -> bool:
        """Whether FlexClones still share the volume's blocks (ONTAP refuses to delete it then)."""
        volume = self._volume(internal)
        if not volume:
            return False
        return bool((self.rest.get(f"/storage/volumes/{volume['uuid']}", fields="clone.has_flexclone")
                     .get("clone") or {}).get("has_flexclone"))

    def _snapshot(self, internal: str, snapshot: str) -> dict:
        volume = self._volume(internal)
        if not volume:
            raise OntapError("GET", "/storage/volumes", 404, f"volume {internal} not found")
        path = f"/storage/volumes/{volume['uuid']}/snapshots"
        self.rest.post(path, {"name": snapshot})
        return self.rest.one(path, name=snapshot, fields="create_time")

    def _volume(self, internal: str):
        return self.rest.one("/storage/volumes", name=internal, **{"svm.name": self.svm})

    def _check_size_limit(self, size: int) -> None:
        limit = self.config.limit_volume_size
        if limit and size > limit:
            raise DriverError(f"requested size: {size} > the size limit: {limit}")

    def _require_simulated(self) -> None:
        if self.config.driver not in _SIMULATED_DRIVERS:
            raise DriverError(f"the lab's Trident does not provision with the {self.config.driver} driver "
                              "(the lab's ONTAP has no qtrees or FlexGroups); use ontap-nas or ontap-san")


class _SvmError(Exception):
    pass


def matching_pools(pools: list, request: StorageClassRequest) -> list:
    """The pools a StorageClass may use (storageclass.Matches): exclusions, additions, required
    pools, then every requested attribute against what the pool offers."""
    def listed(pool, lists):
        return any(re.fullmatch(backend, pool.backend) and any(re.fullmatch(name, pool.name) for name in names)
                   for backend, names in lists.items())

    chosen = []
    for pool in pools:
        if request.exclude_pools and listed(pool, request.exclude_pools):
            continue
        if request.additional_pools and listed(pool, request.additional_pools):
            chosen.append(pool)
        elif (request.storage_pools is None or listed(pool, request.storage_pools)) \
                and all(_satisfies(pool, name, wanted) for name, wanted in request.attributes.items()):
            chosen.append(pool)
    return chosen


def _satisfies(pool: Pool, name: str, wanted) -> bool:
    if name in ("selector", "labels"):
        return _selector_matches(wanted, pool.labels)
    offered = pool.offers.get(name)
    if offered is None:
        return False
    if isinstance(offered, bool):
        return offered or not wanted
    if isinstance(offered, set):
        return wanted in offered
    return offered == wanted


def _selector_matches(selector: str, labels: dict) -> bool:
    """Trident's label selector: clauses joined by ';' (=, !=, in, notin, existence)."""
    for clause in filter(None, (c.strip() for c in selector.split(";"))):
        match = re.fullmatch(r"(\S+)\s+(in|notin)\s+\((.*)\)", clause)
        if match:
            key, operator, values = match[1], match[2], {v.strip() for v in match[3].split(",")}
            if (labels.get(key) in values) != (operator == "in"):
                return False
        elif "!=" in clause:
            key, value = (part.strip() for part in clause.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in clause:
            key, value = (part.strip() for part in clause.split("=", 1))
            if labels.get(key) != value:
                return False
        elif clause.startswith("!"):
            if clause[1:] in labels:
                return False
        elif clause not in labels:
            return False
    return True


def _snapshot_reserve(defaults: dict) -> int:
    reserve = defaults.get("snapshotReserve", "")
    if reserve != "":
        return int(reserve)
    return 0 if defaults.get("snapshotPolicy", "none") == "none" else 5


def _true(value) -> bool:
    return str(value).lower() == "true"


def _octal(permissions: str) -> int:
    """"---rwxrwxrwx" (or "0777") -> 777, as ONTAP's REST API takes unix_permissions."""
    if permissions.isdigit():
        return int(permissions[-3:])
    digits = ""
    for triplet in (permissions[-9:-6], permissions[-6:-3], permissions[-3:]):
        digits += str(sum(bit for bit, char in zip((4, 2, 1), triplet) if char != "-"))
    return int(digits)
