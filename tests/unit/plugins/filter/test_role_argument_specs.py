"""The roles' declared item options agree with the modules that take the items, and with module_utils/trident.py.

The roles' meta/argument_specs.yml validate each backend, class and setting before a task runs; a role
option missing from the module (or a choice the module does not have) would pass validation and fail later,
and a module option missing from the role would be refused by the role. The modules are read from their
DOCUMENTATION (the contract ansible-test validates), not imported.
"""

import ast
import os

import pytest
import yaml
from ansible_collections.ontap.virtualization.plugins.module_utils import trident

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def role_options(role):
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as spec:
        return yaml.safe_load(spec)["argument_specs"]["main"]["options"]


def module_options(module):
    with open(os.path.join(REPO, "plugins", "modules", module + ".py")) as source:
        tree = ast.parse(source.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["DOCUMENTATION"]:
            return yaml.safe_load(ast.literal_eval(node.value))["options"]
    raise AssertionError("no DOCUMENTATION in " + module)


def task_args(role, tasks_file, action):
    with open(os.path.join(REPO, "roles", role, "tasks", tasks_file)) as tasks:
        return next(task[action] for task in yaml.safe_load(tasks) if action in task)


PREREQUISITES = role_options("prerequisites")
# (role variable, module, module options the role sets itself or does not offer)
ITEMS = [
    ("prerequisites_backends", "trident_backend", {"state", "namespace", "check_ontap"}),  # the role checks ONTAP
    ("prerequisites_storage_classes", "storageclass", {"state", "force"}),  # the role only creates classes
    ("prerequisites_snapshot_class", "volumesnapshotclass", {"state", "parameters"}),
    ("prerequisites_trident_orchestrator", "trident_orchestrator", {"namespace"}),  # the role's namespace
]


def compare(role_spec, module_spec, path):
    """Differences in names, types and choices, recursively; storage_driver is compared with trident.DRIVERS."""
    found = []
    for name in sorted(set(role_spec) | set(module_spec)):
        where = path + "." + name
        if name not in module_spec or name not in role_spec:
            found.append("{0}: only in the {1}".format(where, "role" if name in role_spec else "module"))
            continue
        mine, theirs = role_spec[name], module_spec[name]
        for key in ("type", "elements"):
            if mine.get(key) != theirs.get(key):
                found.append("{0}: {1} {2!r} != {3!r}".format(where, key, mine.get(key), theirs.get(key)))
        if name not in ("storage_driver",) and mine.get("choices") != theirs.get("choices"):
            found.append("{0}: choices {1!r} != {2!r}".format(where, mine.get("choices"), theirs.get("choices")))
        found += compare(mine.get("options") or {}, theirs.get("suboptions") or {}, where)
    return found


@pytest.mark.parametrize("variable,module,left_out", ITEMS)
def test_item_options_are_the_modules_options(variable, module, left_out):
    theirs = dict((k, v) for k, v in module_options(module).items() if k not in left_out)
    assert compare(PREREQUISITES[variable]["options"], theirs, variable) == []


def test_live_migration_options_are_the_modules():
    role = role_options("installation")["installation_live_migration"]["options"]
    module = module_options("cnv_hyperconverged")["live_migration"]["suboptions"]
    assert compare(role, module, "installation_live_migration") == []


def test_driver_choices_are_module_utils_drivers():
    backend = PREREQUISITES["prerequisites_backends"]["options"]
    assert backend["storage_driver"]["choices"] == list(trident.DRIVERS)
    assert backend["san_type"]["choices"] == list(trident.SAN_TYPES)
    assert PREREQUISITES["prerequisites_storage_classes"]["options"]["backend_type"]["choices"] == list(trident.DRIVERS)


def test_flexgroup_is_a_driver_for_the_role():
    assert "ontap-nas-flexgroup" in PREREQUISITES["prerequisites_backends"]["options"]["storage_driver"]["choices"]


def test_required_keys_of_each_item():
    backend = PREREQUISITES["prerequisites_backends"]
    assert sorted(k for k, v in backend["options"].items() if v.get("required")) == [
        "management_lif", "name", "storage_driver"]
    assert backend["required_together"] == [["username", "password"]]
    storage_class = PREREQUISITES["prerequisites_storage_classes"]["options"]
    assert [k for k, v in storage_class.items() if v.get("required")] == ["name"]
    claim_sets = storage_class["storage_profile"]["options"]["claim_property_sets"]["options"]
    assert all(option["required"] for option in claim_sets.values())


def test_passwords_are_no_log():
    setup = PREREQUISITES["prerequisites_ontap_setup"]["options"]
    assert PREREQUISITES["prerequisites_backends"]["options"]["password"]["no_log"] is True
    assert setup["password"]["no_log"] is True
    assert setup["trident_account"]["options"]["password"]["no_log"] is True


@pytest.mark.parametrize("variable,tasks_file,action,set_by_role", [
    ("prerequisites_backends", "backend.yml", "ontap.virtualization.trident_backend",
     {"namespace", "wait_timeout", "check_ontap"}),
    ("prerequisites_storage_classes", "storage_class.yml", "ontap.virtualization.storageclass", {"wait_timeout"}),
    ("prerequisites_snapshot_class", "snapshot_class_one.yml", "ontap.virtualization.volumesnapshotclass", set()),
    ("prerequisites_trident_orchestrator", "trident.yml", "ontap.virtualization.trident_orchestrator",
     {"namespace", "wait_timeout"}),
])
def test_tasks_pass_every_declared_option(variable, tasks_file, action, set_by_role):
    passed = set(task_args("prerequisites", tasks_file, action))
    assert passed == set(PREREQUISITES[variable]["options"]) | set_by_role
