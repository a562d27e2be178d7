"""Who is calling and what they may do: HTTP Basic against security/accounts, ONTAP roles.

A role is a list of privileges {path, access}; the longest privilege path that covers the
request's API path decides, with the "DEFAULT" entry as the fallback (built-in roles are just
that entry). Paths name collections without their keys, as ONTAP's REST roles do:
"/api/storage/volumes/snapshots" covers /api/storage/volumes/{uuid}/snapshots/{uuid}.
Accounts owned by an SVM only ever see that SVM; the API layer enforces the scope.
"""

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

_ITERATIONS = 2000  # a lab hash: enough to keep plaintext off disk, cheap per request

_ALLOWS = {
    "GET": {"readonly", "read_create", "read_modify", "read_create_modify", "all"},
    "POST": {"read_create", "read_create_modify", "all"},
    "PATCH": {"read_modify", "read_create_modify", "all"},
    "DELETE": {"all"},
}


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
    return f"pbkdf2-sha256${_ITERATIONS}${salt.hex()}${digest.hex()}"


def password_matches(stored: str, password: str) -> bool:
    _, iterations, salt, digest = stored.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(candidate.hex(), digest)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


@dataclass
class Principal:
    account: dict
    role: dict
    svm: dict | None  # {"name", "uuid"} of the SVM the caller is confined to, if any

    def access(self, api_path: str) -> str:
        best, best_len = None, -1
        for privilege in self.role.get("privileges", []):
            path = privilege["path"]
            if path == "DEFAULT":
                continue
            if (api_path == path or api_path.startswith(path.rstrip("/") + "/")) and len(path) > best_len:
                best, best_len = privilege["access"], len(path)
        if best is not None:
            return best
        default = [p["access"] for p in self.role.get("privileges", []) if p["path"] == "DEFAULT"]
        return default[0] if default else "none"

    def may(self, method: str, api_path: str) -> bool:
        return self.access(api_path) in _ALLOWS[method]


def authenticate(store, header: str | None) -> Principal | None:
    credentials = basic_credentials(header)
    if credentials is None:
        return None
    user, password = credentials
    for account in store.table("accounts"):
        if account["name"] != user or account.get("locked"):
            continue
        if not any(app["application"] == "http" and "password" in app.get("authentication_methods", [])
                   for app in account.get("applications", [])):
            continue
        stored = store.secrets.get(f"{account['owner']['uuid']}/{account['name']}")
        if stored and password_matches(stored, password):
            svm = None if account["scope"] == "cluster" else {k: account["owner"][k] for k in ("name", "uuid")}
            return Principal(account, role_of(store, account), svm)
    return None


def role_of(store, account: dict) -> dict:
    name, owner = account["role"]["name"], account["owner"]["uuid"]
    roles = store.table("roles")
    for role in roles:
        if role["name"] == name and role["owner"]["uuid"] == owner:
            return role
    for role in roles:
        if role["name"] == name and role["scope"] == "cluster":
            return role
    return {"name": name, "privileges": []}
