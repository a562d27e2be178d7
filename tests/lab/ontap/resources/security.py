"""Login accounts and REST roles; what the stand-in authenticates and authorizes against."""

import re

from netapp_ontap.resources import Account, Role, RolePrivilege

from .. import auth, errors
from ..resource import Resource, href, merge

_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9_.@\\-]{3,64}$")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
BUILTIN_CLUSTER_ROLES = {"admin": "all", "readonly": "readonly"}
BUILTIN_SVM_ROLES = {"vsadmin": "all", "vsadmin-readonly": "readonly"}


def owner_ref(ctx, owner: dict | None) -> tuple[dict, str]:
    """(owner reference, scope) for a body's owner; no owner means the cluster (or the caller's SVM)."""
    if owner or ctx.principal.svm:
        svm = ctx.svm(owner)
        return ctx.resources["svms"].ref(svm), "svm"
    cluster = ctx.cluster
    return {"name": cluster["name"], "uuid": cluster["uuid"],
            "_links": {"self": {"href": href("svm", "svms", cluster["uuid"])}}}, "cluster"


def create_role(ctx, name: str, owner: dict, scope: str, privileges: list, builtin: bool = False) -> dict:
    role = {"name": name, "owner": owner, "scope": scope, "builtin": builtin, "privileges": []}
    for privilege in privileges:
        _add_privilege(role, privilege)
    ctx.table("roles").append(role)
    return role


def create_builtin_svm_roles(ctx, svm: dict) -> None:
    owner = ctx.resources["svms"].ref(svm)
    for name, access in BUILTIN_SVM_ROLES.items():
        create_role(ctx, name, owner, "svm", [{"path": "DEFAULT", "access": access}], builtin=True)


def create_builtin_cluster_roles(ctx) -> None:
    owner, _ = owner_ref(ctx, None)
    for name, access in BUILTIN_CLUSTER_ROLES.items():
        create_role(ctx, name, owner, "cluster", [{"path": "DEFAULT", "access": access}], builtin=True)


def _add_privilege(role: dict, privilege: dict) -> dict:
    path, access = privilege.get("path"), privilege.get("access")
    if not path:
        raise errors.missing("privileges.path")
    if not access:
        raise errors.missing("privileges.access")
    if path.startswith("/") and not path.startswith("/api/"):
        raise errors.invalid_value("privileges.path", path, "a REST API path under /api/, a command or DEFAULT")
    if any(p["path"] == path for p in role["privileges"]):
        raise errors.duplicate(f'Role "{role["name"]}" already has a privilege for "{path}".', "path")
    entry = dict(privilege)
    role["privileges"].append(entry)
    return entry


def _check_password(password: str) -> None:
    if len(password) < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise errors.OperationFailed(errors.INVALID, "Minimum length for new password is 8 and it must contain at "
                                                     "least one letter and one digit.")


def create_account(ctx, name: str, owner: dict, scope: str, role: str, password: str | None,
                   applications: list | None = None, locked: bool = False) -> dict:
    if password is not None:
        _check_password(password)
    account = {"name": name, "owner": owner, "scope": scope, "role": {"name": role}, "locked": locked,
               "comment": "", "password_hash_algorithm": "sha512",
               "applications": applications or [{"application": "http", "authentication_methods": ["password"],
                                                 "second_authentication_method": "none"}]}
    for application in account["applications"]:
        if application.get("second_authentication_method") is None:
            application["second_authentication_method"] = "none"
    ctx.table("accounts").append(account)
    if password is not None:
        ctx.store.secrets[f"{owner['uuid']}/{name}"] = auth.hash_password(password)
    return account


class Accounts(Resource):
    ontap = Account
    table = "accounts"
    owner = "owner.uuid"
    default_fields = ("name", "owner.name", "owner.uuid")

    def view(self, ctx, record):
        view = super().view(ctx, record)
        role = auth.role_of(ctx.store, record)
        view["role"]["_links"] = {"self": {"href": href("security", "roles", role.get("owner", {}).get("uuid", ""),
                                                        record["role"]["name"])}}
        return view

    def create(self, ctx, parent, body, params):
        name = body.get("name")
        if not name:
            raise errors.missing("name")
        if not _ACCOUNT_NAME.match(name):
            raise errors.invalid_value("name", name, "3 to 64 letters, digits or '_', '.', '@', '-', '\\'")
        owner, scope = owner_ref(ctx, body.get("owner"))
        if any(a["name"] == name and a["owner"]["uuid"] == owner["uuid"] for a in ctx.table("accounts")):
            raise errors.duplicate(f'User "{name}" already exists.', "name")
        role = (body.get("role") or {}).get("name") or ("admin" if scope == "cluster" else "vsadmin")
        self._require_role(ctx, role, owner)
        applications = body.get("applications")
        if not applications:
            raise errors.missing("applications")
        uses_password = any("password" in app.get("authentication_methods", []) for app in applications)
        if uses_password and not body.get("password"):
            raise errors.missing("password")
        account = create_account(ctx, name, owner, scope, role, body.get("password"), applications,
                                 body.get("locked", False))
        account["comment"] = body.get("comment", "")
        return account

    def modify(self, ctx, parent, record, body, params):
        changes = dict(body)
        key = f"{record['owner']['uuid']}/{record['name']}"
        if "password" in changes:
            password = changes.pop("password")
            stored = ctx.store.secrets.get(key)
            if stored and auth.password_matches(stored, password):
                raise errors.OperationFailed(errors.INVALID, "New password must be different than the old password.")
            _check_password(password)
            ctx.store.secrets[key] = auth.hash_password(password)
        if "role" in changes:
            self._require_role(ctx, changes["role"]["name"], record["owner"])
        merge(record, changes)

    def delete(self, ctx, parent, record, params):
        ctx.table("accounts").remove(record)
        ctx.store.secrets.pop(f"{record['owner']['uuid']}/{record['name']}", None)

    @staticmethod
    def _require_role(ctx, name: str, owner: dict) -> None:
        if not any(r["name"] == name and r["owner"]["uuid"] in (owner["uuid"], ctx.cluster["uuid"])
                   for r in ctx.table("roles")):
            raise errors.OntapError(404, errors.ENTRY_DOESNT_EXIST, f'Role "{name}" does not exist.', "role.name")


class Roles(Resource):
    ontap = Role
    table = "roles"
    owner = "owner.uuid"
    default_fields = ("name", "owner.name", "owner.uuid")

    def create(self, ctx, parent, body, params):
        name = body.get("name")
        if not name:
            raise errors.missing("name")
        if not _ROLE_NAME.match(name):
            raise errors.invalid_value("name", name, "letters, digits, '_', '.' or '-'")
        owner, scope = owner_ref(ctx, body.get("owner"))
        if any(r["name"] == name and r["owner"]["uuid"] == owner["uuid"] for r in ctx.table("roles")):
            raise errors.duplicate(f'Role "{name}" already exists.', "name")
        return create_role(ctx, name, owner, scope, body.get("privileges") or [])

    def modify(self, ctx, parent, record, body, params):
        if record["builtin"]:
            raise errors.OperationFailed(errors.INVALID, f'Built-in role "{record["name"]}" cannot be modified.')
        record["privileges"] = []
        for privilege in body.get("privileges") or []:
            _add_privilege(record, privilege)

    def delete(self, ctx, parent, record, params):
        if record["builtin"]:
            raise errors.OperationFailed(errors.INVALID, f'Built-in role "{record["name"]}" cannot be deleted.')
        users = sorted(a["name"] for a in ctx.table("accounts") if a["role"]["name"] == record["name"]
                       and a["owner"]["uuid"] == record["owner"]["uuid"])
        if users:
            raise errors.OperationFailed(errors.IN_USE, f'Role "{record["name"]}" is assigned to: {", ".join(users)}.')
        ctx.table("roles").remove(record)


class RolePrivileges(Resource):
    ontap = RolePrivilege
    table = "role_privileges"  # a view of roles[].privileges
    owner = None  # scoped through the parent role
    default_fields = ("path", "access")
    parent_table = "roles"

    def rows(self, ctx, parent):
        return parent["privileges"]

    def create(self, ctx, parent, body, params):
        self._changeable(parent)
        return _add_privilege(parent, body)

    def modify(self, ctx, parent, record, body, params):
        self._changeable(parent)
        merge(record, body)

    def delete(self, ctx, parent, record, params):
        self._changeable(parent)
        parent["privileges"].remove(record)

    @staticmethod
    def _changeable(role: dict) -> None:
        if role["builtin"]:
            raise errors.OperationFailed(errors.INVALID, f'Built-in role "{role["name"]}" cannot be modified.')
