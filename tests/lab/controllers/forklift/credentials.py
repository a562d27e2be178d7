"""A provider Secret's keys as Forklift reads them (pkg/lib/util/util.go, pkg/controller/base at v2.12.5)."""

import base64


def secret_data(secret: dict) -> dict:
    return {key: base64.b64decode(value).decode(errors="replace") for key, value in (secret.get("data") or {}).items()}


def insecure(data: dict) -> bool:
    """`insecureSkipVerify` as strconv.ParseBool reads it (anything else is false)."""
    return data.get("insecureSkipVerify", "").strip() in ("1", "t", "T", "TRUE", "true", "True")


def ca_cert(data: dict):
    """`ca.crt`, else the legacy `cacert` key; None when neither has content."""
    return data.get("ca.crt") or data.get("cacert") or None
