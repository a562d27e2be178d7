"""HCO's validating webhook for HyperConvergeds (pkg/webhooks/validator/v1beta1_validator.go)."""

import json
import re

from kubernetes.client.exceptions import ApiException

from lab.controllers.hco.operands import (CDI, CDI_NAME, HCO_NAME, KUBEVIRT, KUBEVIRT_NAME, desired_cdi,
                                          desired_kubevirt, operator_csv)
from lab.webhooks import allow


# --- the validating webhook (pkg/webhooks/validator/v1beta1_validator.go) -------------------------

DIC_ENABLE = "dataimportcrontemplate.kubevirt.io/enable"
TUNING_ANNOTATION = "hco.kubevirt.io/tuningPolicy"
TLS_VERSIONS = ("VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13")
HTTP2_CIPHERS = ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256")
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


class Refusal(Exception):
    """A refusal of HCO's webhook: admission.Denied (403), admission.Errored (400), or the Status of
    an operand's API error, passed on as validationResponseFromStatus does."""

    def __init__(self, message: str, code: int = 403, reason: str = "Forbidden"):
        super().__init__(message)
        self.status = {"code": code, "message": message, "reason": reason}


def go_duration(text: str) -> float:
    """time.ParseDuration, in seconds; a string it refuses raises Refusal as the decoder's 400 does."""
    value, rest = str(text), str(text)
    sign = -1 if rest.startswith("-") else 1
    rest = rest.lstrip("+-")
    if rest == "0":
        return 0.0
    total = 0.0
    while rest:
        match = _DURATION_PART.match(rest)
        if not match or match.group(1) in ("", "."):
            raise Refusal(f'time: invalid duration "{value}"', code=400, reason="BadRequest")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        rest = rest[match.end():]
    if not value.lstrip("+-"):
        raise Refusal(f'time: invalid duration "{value}"', code=400, reason="BadRequest")
    return sign * total


def _validate_cert_config(spec: dict) -> None:
    cert = spec.get("certConfig") or {}
    values = {}
    for part in ("ca", "server"):
        for field in ("duration", "renewBefore"):
            values[f"{part}.{field}"] = go_duration(((cert.get(part) or {}).get(field)) or "0")
    for key, value in values.items():
        if value < 600:
            raise Refusal(f"spec.certConfig.{key}: value is too small")
    if values["ca.duration"] < values["ca.renewBefore"]:
        raise Refusal("spec.certConfig.ca: duration is smaller than renewBefore")
    if values["server.duration"] < values["server.renewBefore"]:
        raise Refusal("spec.certConfig.server: duration is smaller than renewBefore")
    if values["ca.duration"] < values["server.duration"]:
        raise Refusal("spec.certConfig: ca.duration is smaller than server.duration")


def _validate_dic_templates(spec: dict) -> None:
    for template in spec.get("dataImportCronTemplates") or []:
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        value = annotations.get(DIC_ENABLE)
        if value is not None and value.lower() not in ("true", "false"):
            raise Refusal(f'the {DIC_ENABLE} annotation of a dataImportCronTemplate must be either "true" or "false"')
        if (value is None or value.lower() == "true") and template.get("spec") is None:
            raise Refusal("dataImportCronTemplate spec is empty for an enabled DataImportCronTemplate")


def _validate_tls(spec: dict) -> None:
    profile = spec.get("tlsSecurityProfile")
    if not profile:
        return
    custom = profile.get("custom")
    if custom is None:
        if profile.get("type") == "Custom":
            raise Refusal("missing required field spec.tlsSecurityProfile.custom when type is Custom")
        return
    version = custom.get("minTLSVersion") or ""
    if version not in TLS_VERSIONS:
        raise Refusal("invalid value for spec.tlsSecurityProfile.custom.minTLSVersion")
    ciphers = custom.get("ciphers") or []
    if version < "VersionTLS13" and not any(c in ciphers for c in HTTP2_CIPHERS):
        raise Refusal("http2: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher (need "
                      "at least one of ECDHE-RSA-AES128-GCM-SHA256 or ECDHE-ECDSA-AES128-GCM-SHA256)")
    if version == "VersionTLS13" and ciphers:
        raise Refusal("custom ciphers cannot be selected when minTLSVersion is VersionTLS13")


def _validate_mediated_devices(spec: dict) -> None:
    config = spec.get("mediatedDevicesConfiguration") or {}
    for item in [config] + list(config.get("nodeMediatedDeviceTypes") or []):
        old, new = item.get("mediatedDevicesTypes") or [], item.get("mediatedDeviceTypes") or []
        if old and new and old != new:
            raise Refusal("mediatedDevicesTypes is deprecated, please use mediatedDeviceTypes instead")


FG_DEPRECATED = ("withHostPassthroughCPU", "deployTektonTaskResources", "nonRoot", "enableManagedTenantQuota")
FG_MOVED = ("enableApplicationAwareQuota", "enableCommonBootImageImport", "deployVmConsoleProxy")


def _feature_gate_warnings(spec: dict, old_spec=None) -> list:
    gates = spec.get("featureGates") or {}
    warnings = [f"spec.featureGates.{g} is deprecated and ignored. It will be removed in a future version;"
                for g in FG_DEPRECATED if gates.get(g) is not None]
    old_gates = (old_spec or {}).get("featureGates") or {}
    for gate in FG_MOVED:
        value = gates.get(gate)
        if value is not None and (old_spec is None or old_gates.get(gate) != value):
            warnings.append(f"spec.featureGates.{gate} is deprecated and ignored. It will removed in a future "
                            f"version; use spec.{gate} instead")
    return warnings


def _build_operands(hc: dict) -> None:
    """What handlers.NewKubeVirt refuses besides the schema: the tuning policy's annotation."""
    policy = hc["spec"].get("tuningPolicy")
    annotation = (hc["metadata"].get("annotations") or {}).get(TUNING_ANNOTATION)
    if policy == "annotation":
        if annotation is None:
            raise Refusal("tuning policy set but annotation not present or wrong")
        try:
            rates = json.loads(annotation)
        except ValueError as error:  # Go's encoding/json words it differently
            raise Refusal(f"invalid annotation {TUNING_ANNOTATION}: {error}")
        if not isinstance(rates, dict) or not (rates.get("qps") or 0) > 0:
            raise Refusal("qps parameter not found in annotation")
        if not (rates.get("burst") or 0) > 0:
            raise Refusal("burst parameter not found in annotation")
    elif policy == "highBurst" and annotation is not None:
        raise Refusal(f"highBurst profile is enabled and the annotation {TUNING_ANNOTATION} is present")


def _status_of(error: ApiException) -> dict:
    try:
        status = json.loads(error.body)
    except (TypeError, ValueError):
        status = {"message": str(error)}
    return {"code": status.get("code", error.status), "message": status.get("message", ""),
            "reason": status.get("reason", "")}


DRY_RUN_ATTEMPTS = 3


def _dry_run_update(api, hc: dict, version: str) -> None:
    """dryRunUpdateComponents: GET each operand, give it the spec HCO would give it, PUT it with
    dryRun=All; the first error refuses the update. (Upstream also does the NetworkAddonsConfig and,
    on OpenShift, the SSP: the lab runs neither, so only KubeVirt and CDI.)"""
    namespace = hc["metadata"]["namespace"]
    for kind, name, desired in ((KUBEVIRT, KUBEVIRT_NAME, desired_kubevirt(hc, version)),
                                (CDI, CDI_NAME, desired_cdi(hc, version))):
        resource = api.resource(*kind)
        ns = namespace if kind == KUBEVIRT else None
        for attempt in range(DRY_RUN_ATTEMPTS):
            try:
                existing = resource.get(name=name, namespace=ns).to_dict()
                existing["spec"] = desired["spec"]
                resource.replace(body=existing, namespace=ns, dry_run="All")
                break
            except ApiException as error:
                # The PUT carries the resourceVersion just read, as upstream's does. The lab's operators
                # write an operand many times within milliseconds of an HC change (real ones over seconds),
                # so a 409 that upstream meets rarely is retried here a few times before it refuses.
                if error.status == 409 and attempt + 1 < DRY_RUN_ATTEMPTS:
                    continue
                raise Refusal(**_status_of(error))


def _dry_run_delete(api, namespace: str) -> None:
    """ValidateDelete: hcoutil.EnsureDeleted(dryRun) of the KubeVirt, then of the CDI; operands that
    are gone, or not labelled app=kubevirt-hyperconverged (protectNonHCOObjects), are skipped."""
    for kind, name, ns in ((KUBEVIRT, KUBEVIRT_NAME, namespace), (CDI, CDI_NAME, None)):
        operand = api.get(*kind, name, ns)
        if operand is None or (operand["metadata"].get("labels") or {}).get("app") != HCO_NAME:
            continue
        try:
            api.resource(*kind).delete(name=name, namespace=ns, dry_run="All")
        except ApiException as error:
            if error.status == 404:
                continue
            raise Refusal(**_status_of(error))


def validate_create(api, hc: dict) -> dict:
    spec = hc.get("spec") or {}
    _validate_cert_config(spec)
    _validate_dic_templates(spec)
    _validate_tls(spec)
    _validate_mediated_devices(spec)
    warnings = _feature_gate_warnings(spec)
    if warnings:
        return allow(warnings)  # a ValidationWarning ends ValidateCreate: allowed, the rest unchecked
    if spec.get("tuningPolicy") == "highBurst":
        return allow(["spec.tuningPolicy: the highBurst profile is deprecated as of v1.16.0 and will be removed "
                      "in a future release"])
    _build_operands(hc)
    return allow()


def validate_update(api, hc: dict, old: dict) -> dict:
    spec, old_spec = hc.get("spec") or {}, old.get("spec") or {}
    _validate_dic_templates(spec)
    _validate_tls(spec)
    _validate_mediated_devices(spec)
    warnings = _feature_gate_warnings(spec, old_spec)
    if warnings:
        return allow(warnings)
    if spec.get("tuningPolicy") == "highBurst":
        return allow(["spec.tuningPolicy: the highBurst profile is deprecated as of v1.16.0 and will be removed "
                      "in a future release"])
    if spec == old_spec and (hc["metadata"].get("annotations") or {}) == (old["metadata"].get("annotations") or {}):
        return allow()
    _validate_cert_config(spec)
    if hc["metadata"].get("deletionTimestamp"):
        return allow()
    csv = operator_csv(api, hc["metadata"]["namespace"])
    _dry_run_update(api, hc, csv["spec"].get("version", "") if csv else "")
    return allow()


def make_webhook(api):
    def validate(request: dict) -> dict:
        operation = request["operation"]
        try:
            if operation == "CREATE":
                return validate_create(api, request["object"])
            if operation == "UPDATE":
                return validate_update(api, request["object"], request["oldObject"])
            if operation == "DELETE":
                _dry_run_delete(api, request.get("namespace"))
                return allow()
        except Refusal as refusal:
            return {"allowed": False, "status": refusal.status}
        return {"allowed": False, "status": {"code": 400, "message": f'unknown operation request "{operation}"'}}
    return validate
