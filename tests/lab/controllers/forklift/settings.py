"""The controller's settings, as the operator hands them from the ForkliftController spec.

Upstream the operator (operator/roles/forkliftcontroller at v2.12.5) renders the spec's
snake_case keys, defaulted by `defaults/main.yml`, into the controller Deployment's
environment, which `pkg/settings` reads. The lab reads the same keys and defaults from the
ForkliftController the running operator serves.
"""

from dataclasses import dataclass

# defaults/main.yml at v2.12.5 (the keys the simulated controller uses).
DEFAULTS = {
    "controller_max_vm_inflight": 20,
    "controller_max_populator_inflight": 20,
    "controller_precopy_interval": 60,
    "controller_snapshot_removal_timeout_minuts": 120,
    "controller_snapshot_status_check_rate_seconds": 10,
    "controller_cleanup_retries": 10,
    "controller_blocker_grace_period_minutes": 5,
    "controller_vddk_job_active_deadline_sec": 300,
    "controller_tls_connection_timeout_sec": 5,
    "controller_filesystem_overhead": 10,
    "controller_block_overhead": 0,
    "feature_copy_offload": "true",
    "feature_auth_required": "true",
    "feature_volume_populator": "true",
    "vddk_image": "",
}


@dataclass(frozen=True)
class Settings:
    max_vm_inflight: int
    max_populator_inflight: int
    precopy_interval_minutes: int
    snapshot_removal_timeout_minutes: int
    blocker_grace_period_minutes: int
    vddk_job_active_deadline_seconds: int
    tls_connection_timeout_seconds: int
    filesystem_overhead_percent: int
    block_overhead_percent: int
    copy_offload: bool
    auth_required: bool
    vddk_image: str

    @classmethod
    def from_controller(cls, controller: dict) -> "Settings":
        spec = {**DEFAULTS, **((controller or {}).get("spec") or {})}

        def number(key):  # int-or-string in the CRD
            return int(str(spec[key]).strip())

        def flag(key):  # strings "true"/"false" in the CRD
            return str(spec[key]).lower() == "true"

        return cls(
            max_vm_inflight=number("controller_max_vm_inflight"),
            max_populator_inflight=number("controller_max_populator_inflight"),
            precopy_interval_minutes=number("controller_precopy_interval"),
            snapshot_removal_timeout_minutes=number("controller_snapshot_removal_timeout_minuts"),
            blocker_grace_period_minutes=number("controller_blocker_grace_period_minutes"),
            vddk_job_active_deadline_seconds=number("controller_vddk_job_active_deadline_sec"),
            tls_connection_timeout_seconds=number("controller_tls_connection_timeout_sec"),
            filesystem_overhead_percent=number("controller_filesystem_overhead"),
            block_overhead_percent=number("controller_block_overhead"),
            copy_offload=flag("feature_copy_offload"),
            auth_required=flag("feature_auth_required"),
            vddk_image=str(spec["vddk_image"] or ""),
        )
