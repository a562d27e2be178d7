"""NFS export policies and their rules."""

import ipaddress
import re

from netapp_ontap.resources import ExportPolicy, ExportRule

from .. import errors
from ..resource import Resource, merge, rename_refs

_POLICY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_FIRST_POLICY_ID = 8589934593  # ONTAP's ids are large; clients must not assume small ones
_RULE_DEFAULTS = {"protocols": ["any"], "superuser": ["any"], "anonymous_user": "65534", "allow_suid": True,
                  "allow_device_creation": True, "chown_mode": "restricted", "ntfs_unix_security": "fail"}


def policy_ref(ctx, svm: dict, wanted: dict | None) -> dict:
    policy = ctx.require("export_policies", wanted, "nas.export_policy.name", **{"svm.uuid": svm["uuid"]})
    return ctx.resources["export_policies"].ref(policy, keys=("name", "id"))


def create_export_policy(ctx, svm: dict, name: str, rules: list | None = None) -> dict:
    ctx.store.meta["next_policy_id"] = ctx.store.meta.get("next_policy_id", _FIRST_POLICY_ID) + 1
    policy = {"id": ctx.store.meta["next_policy_id"] - 1, "name": name, "svm": ctx.resources["svms"].ref(svm),
              "rules": []}
    for rule in rules or []:
        _add_rule(policy, rule)
    ctx.table("export_policies").append(policy)
    return policy


def _check_clients(clients) -> None:
    if not clients:
        raise errors.missing("clients")
    for client in clients:
        match = client.get("match", "")
        if not match:
            raise errors.missing("clients.match")
        if re.fullmatch(r"[0-9.:/a-fA-F]+", match) and any(ch.isdigit() for ch in match):
            try:
                ipaddress.ip_network(match, strict=False)
            except ValueError:
                raise errors.invalid_value("clients.match", match, "an IP address, subnet, host or domain") from None


def _add_rule(policy: dict, body: dict) -> dict:
    for required in ("ro_rule", "rw_rule"):
        if not body.get(required):
            raise errors.missing(required)
    _check_clients(body.get("clients"))
    wanted = sorted(c["match"] for c in body["clients"])
    if any(sorted(c["match"] for c in r["clients"]) == wanted for r in policy["rules"]):
        raise errors.OperationFailed(errors.EXPORT_POLICY_RULE_EXISTS,
                                     f'A rule for clients {", ".join(wanted)} already exists in export policy '
                                     f'"{policy["name"]}".', 409)
    index = body.get("index") or max((r["index"] for r in policy["rules"]), default=0) + 1
    if any(r["index"] == index for r in policy["rules"]):
        raise errors.duplicate(f"Rule index {index} is already used in export policy \"{policy['name']}\".", "index")
    rule = dict(_RULE_DEFAULTS, **{k: v for k, v in body.items() if k not in ("policy", "svm")}, index=index)
    policy["rules"].append(rule)
    policy["rules"].sort(key=lambda r: r["index"])
    return rule


class ExportPolicies(Resource):
    ontap = ExportPolicy
    table = "export_policies"
    default_fields = ("id", "name")

    def create(self, ctx, parent, body, params):
        svm = ctx.svm(body.get("svm"))
        name = body.get("name")
        if not name:
            raise errors.missing("name")
        if not _POLICY_NAME.match(name):
            raise errors.invalid_value("name", name, "letters, digits, '_', '.' or '-'")
        if ctx.lookup("export_policies", {"name": name}, **{"svm.uuid": svm["uuid"]}):
            raise errors.duplicate(f'Export policy "{name}" already exists in SVM "{svm["name"]}".', "name")
        return create_export_policy(ctx, svm, name, body.get("rules"))

    def modify(self, ctx, parent, record, body, params):
        changes = dict(body)
        changes.pop("svm", None)
        new = changes.pop("name", record["name"])
        if new != record["name"]:
            if record["name"] == "default":
                raise errors.OperationFailed(errors.INVALID, 'The "default" export policy cannot be renamed.')
            if ctx.lookup("export_policies", {"name": new}, **{"svm.uuid": record["svm"]["uuid"]}):
                raise errors.duplicate(f'Export policy "{new}" already exists.', "name")
            record["name"] = new
            rename_refs(ctx.store.data["tables"], "export_policy", record["id"], new, key_field="id")
        if "rules" in changes:
            record["rules"] = []
            for rule in changes.pop("rules") or []:
                _add_rule(record, rule)
        merge(record, changes)

    def delete(self, ctx, parent, record, params):
        if record["name"] == "default":
            raise errors.OperationFailed(errors.INVALID, 'The "default" export policy cannot be deleted.')
        users = sorted(v["name"] for v in ctx.table("volumes") if v["nas"]["export_policy"].get("id") == record["id"])
        if users:
            raise errors.OperationFailed(errors.IN_USE, f'Export policy "{record["name"]}" is in use by volumes: '
                                                         f'{", ".join(users)}.')
        ctx.table("export_policies").remove(record)


class ExportRules(Resource):
    ontap = ExportRule
    table = "export_rules"  # a view of export_policies[].rules
    default_fields = ("index",)
    owner = None  # scoped through the parent policy
    parent_table = "export_policies"

    def parent(self, ctx, params):
        try:
            return super().parent(ctx, params)
        except errors.OntapError:
            raise errors.OntapError(404, errors.EXPORT_POLICY_NOT_FOUND,
                                    f'Export policy with ID {params["policy.id"]} does not exist.',
                                    "policy.id") from None

    def rows(self, ctx, parent):
        policy = {"id": parent["id"], "name": parent["name"]}
        return [dict(rule, policy=policy) for rule in parent["rules"]]

    def create(self, ctx, parent, body, params):
        rule = _add_rule(parent, body)
        return dict(rule, policy={"id": parent["id"], "name": parent["name"]})

    def modify(self, ctx, parent, record, body, params):
        if "clients" in body:
            _check_clients(body["clients"])
        merge(_rule(parent, record), {k: v for k, v in body.items() if k not in ("index", "policy")})

    def delete(self, ctx, parent, record, params):
        parent["rules"].remove(_rule(parent, record))


def _rule(policy: dict, row: dict) -> dict:
    return next(r for r in policy["rules"] if r["index"] == row["index"])
