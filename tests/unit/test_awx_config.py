"""The AWX / Automation Controller configuration (awx/configure.yml, awx/vars/*, inventories/awx) against what the
playbooks and roles read, since no controller runs here.

- Every playbook in playbooks/ has a job template, and every job template's playbook exists.
- Every survey variable is an option of the playbook's role (roles/*/meta/argument_specs.yml) or a variable the
  playbook reads; its survey type fits the option's type (or the playbook's default), choices are a subset of the
  option's, secrets are asked as passwords, and a true/false answer (a string) only reaches `| bool` or a
  module/role option of type bool.
- Every credential-type injector variable reaches a role option: the AWX inventory's wiring is rendered with
  Ansible's templar from the extra vars AWX would inject (sample inputs), the result passes each role's own
  argument spec, every injected value lands in an option of that spec, secret fields are secret and land only in
  no_log options.
- The Kubernetes bearer token credential: the modules fall back to the K8S_AUTH_* variables it sets, and nothing
  in the AWX inventory sets k8s_kubeconfig.
- The workflow chains prerequisites, installation and migration; the schedule answers its template's survey.
"""

import glob
import importlib.util
import os
import re

import jinja2.sandbox
import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as k8s_client

from ansible_collections.ontap.virtualization.plugins.module_utils import args as module_args

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AWX = os.path.join(REPO, "awx")
GROUP_VARS = os.path.join(REPO, "inventories", "awx", "group_vars", "openshift.yml")
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
BOOL_CHOICES = {"true", "false"}


class _Loader(yaml.SafeLoader):
    """Reads `!unsafe` (the configuration's way of keeping AWX's injector templates from Ansible) as the string."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _load(path):
    with open(path) as f:
        return yaml.load(f, Loader=_Loader)


AWX_VARS = {}
for _name in ("controller", "credential_types", "job_templates", "workflows"):
    AWX_VARS.update(_load(os.path.join(AWX, "vars", _name + ".yml")))
TEMPLATES = {t["playbook"]: t for t in AWX_VARS["awx_job_templates"]}
CREDENTIAL_TYPES = {t["key"]: t for t in AWX_VARS["awx_credential_types"]}
# {(role, entry point): its options}
ENTRY_SPECS = {
    (os.path.basename(os.path.dirname(os.path.dirname(p))), entry): spec["options"]
    for p in glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml"))
    for entry, spec in _load(p)["argument_specs"].items()
}


def _playbooks():
    return sorted("playbooks/" + os.path.basename(p) for p in glob.glob(os.path.join(REPO, "playbooks", "*.yml")))


def _plays(playbook):
    """The plays of a playbook, those it imports included."""
    plays = []
    for play in _load(os.path.join(REPO, playbook)):
        imported = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        plays += _plays(os.path.join(os.path.dirname(playbook), imported)) if imported else [play]
    return plays


def _role_name(entry):
    return (entry["role"] if isinstance(entry, dict) else entry).split(".")[-1]


def _roles(play):
    """(role, entry point, vars) of each role a play runs: its roles, and its tasks that import or include one."""
    found = [(_role_name(r), "main", r.get("vars", {}) if isinstance(r, dict) else {}) for r in play.get("roles", [])]
    for task in play.get("tasks", []):
        for action in ("import_role", "include_role"):
            call = task.get("ansible.builtin." + action) or task.get(action)
            if call:
                found.append((call["name"].split(".")[-1], call.get("tasks_from", "main"), task.get("vars", {})))
    return found


def _files(playbook):
    """The files whose text a playbook's run reads: it, the playbooks it imports and its roles' tasks."""
    files = {os.path.join(REPO, playbook)}
    for play in _load(os.path.join(REPO, playbook)):
        imported = play.get("ansible.builtin.import_playbook")
        if imported:
            files |= _files(os.path.join(os.path.dirname(playbook), imported))
    for play in _plays(playbook):
        for role, _entry, _vars in _roles(play):
            files |= set(glob.glob(os.path.join(REPO, "roles", role, "tasks", "*.yml")))
    return files


def _result_vars(value):
    """The variables whose value a one-expression template gives: `{{ x }}`, `{{ x or omit }}`, `{{ x | f }}`,
    both branches of `{{ a if c else b }}` (not the condition)."""
    match = re.fullmatch(r"\{\{\s*(.*?)\s*\}\}", value.strip()) if isinstance(value, str) else None
    if not match:
        return []
    expr = match.group(1)
    branches = [expr]
    if " if " in expr and " else " in expr:
        branches = [expr.split(" if ")[0], expr.split(" else ")[-1]]
    names = []
    for branch in branches:
        first = re.match(r"\s*([A-Za-z_]\w*)", branch)
        if first and first.group(1) not in ("omit", "not", "none", "true", "false"):
            names.append(first.group(1))
    return names


def _module_options(fqcn):
    """A module of this collection: its documented options plus the shared ones (doc fragments)."""
    path = os.path.join(REPO, "plugins", "modules", fqcn.split(".")[-1] + ".py")
    with open(path) as f:
        doc = re.search(r'^DOCUMENTATION = r"""\n(.*?)^"""', f.read(), re.S | re.M).group(1)
    options = dict(module_args.module_argument_spec({}, wait=True, progress=True))
    options.update(yaml.safe_load(doc)["options"])
    return options


def _fed_options(playbook):
    """{variable: option spec} for the playbook's variables handed to a role option (an entry of a list option in
    the role's vars) or to an option of one of this collection's modules."""
    fed = {}
    for play in _plays(playbook):
        for role, entry, role_vars in _roles(play):
            spec = ENTRY_SPECS[(role, entry)]
            for var, value in role_vars.items():
                entries = value if isinstance(value, list) else []
                for entry in entries:
                    for key, sub in entry.items():
                        for name in _result_vars(sub):
                            fed[name] = spec[var]["options"][key]
        for task in play.get("tasks", []):
            module = next((k for k in task if k.startswith("ontap.virtualization.")), None)
            if module:
                options = _module_options(module)
                for key, sub in task[module].items():
                    for name in _result_vars(sub):
                        fed[name] = options[key]
    return fed


def _play_defaults(playbook):
    defaults = {}
    for play in _plays(playbook):
        defaults.update(play.get("vars", {}))
    return defaults


def _type_problems(question, spec):
    """Why a survey question cannot give a value of this option spec ([] when it can)."""
    kind, qtype = spec.get("type", "str"), question["type"]
    choices = [str(c) for c in question.get("choices", [])]
    fits = {
        "raw": SURVEY_TYPES,
        "str": {"text", "textarea", "password", "multiplechoice"},
        "path": {"text"},
        "int": {"integer"},
        "float": {"integer", "float"},
        "bool": {"multiplechoice"},
        # A text answer is comma-separated, which Ansible's list type splits; only for lists of strings.
        "list": {"multiselect", "text"} if spec.get("elements", "str") == "str" else set(),
    }.get(kind, set())
    problems = []
    if qtype not in fits:
        problems.append("survey type {0} cannot give a {1}".format(qtype, kind))
    if kind == "bool" and not set(choices) <= BOOL_CHOICES:
        problems.append("a bool is asked with choices {0}, not true/false".format(choices))
    if spec.get("choices"):
        allowed = {str(c) for c in spec["choices"]}
        if qtype not in ("multiplechoice", "multiselect"):
            problems.append("the option has choices {0}; a {1} answer is not held to them".format(
                sorted(allowed), qtype))
        elif not set(choices) <= allowed:
            problems.append("choices {0} are not among the option's {1}".format(
                sorted(set(choices) - allowed), sorted(allowed)))
    if bool(spec.get("no_log")) != (qtype == "password"):
        problems.append("a secret option must be asked as a password, and only a secret one")
    return problems


def _default_problems(question, default):
    """Why a survey question cannot give a value of the type of the playbook's default."""
    qtype = question["type"]
    if isinstance(default, bool):
        return [] if set(map(str, question.get("choices", []))) <= BOOL_CHOICES and qtype == "multiplechoice" \
            else ["the playbook's default is a bool, the survey asks a {0}".format(qtype)]
    if isinstance(default, int):
        return [] if qtype == "integer" else ["the playbook's default is an int, the survey asks a {0}".format(qtype)]
    if isinstance(default, str) and "{{" not in default:
        return [] if qtype in ("text", "textarea", "password", "multiplechoice") \
            else ["the playbook's default is a string, the survey asks a {0}".format(qtype)]
    return []


SURVEYS = [(playbook, q) for playbook, t in TEMPLATES.items() for q in t["survey"]]


def test_every_playbook_has_a_job_template_and_every_job_template_a_playbook():
    assert sorted(TEMPLATES) == _playbooks()


@pytest.mark.parametrize("playbook,question", SURVEYS, ids=["{0}:{1}".format(p, q["variable"]) for p, q in SURVEYS])
def test_survey_variable_is_read_with_a_compatible_type(playbook, question):
    var = question["variable"]
    assert question["type"] in SURVEY_TYPES
    role_options = {}
    for play in _plays(playbook):
        for role, entry, _vars in _roles(play):
            role_options.update(ENTRY_SPECS[(role, entry)])
    fed = _fed_options(playbook)
    text = "".join(open(f).read() for f in _files(playbook))
    read = var in role_options or re.search(r"\{\{[^}]*(?<![\w.])" + var + r"(?!\w)", text) \
        or re.search(r"when:.*(?<![\w.])" + var + r"(?!\w)", text)
    assert read, "{0} is neither an option of the playbook's role nor read by {1}".format(var, playbook)

    problems = []
    spec = role_options.get(var) or fed.get(var)
    if spec:
        problems += _type_problems(question, spec)
    if var in _play_defaults(playbook):
        problems += _default_problems(question, _play_defaults(playbook)[var])
    choices = [str(c) for c in question.get("choices", [])]
    if choices:
        assert str(question["default"]) in choices
    if question["type"] == "integer":
        assert question["min"] <= question["default"] <= question["max"]
    assert problems == [], "{0} ({1}): {2}".format(var, playbook, "; ".join(problems))


BOOL_ASKED = [(p, q) for p, q in SURVEYS
              if q["type"] == "multiplechoice" and set(map(str, q["choices"])) <= BOOL_CHOICES]


@pytest.mark.parametrize("playbook,question", BOOL_ASKED, ids=[q["variable"] for p, q in BOOL_ASKED])
def test_a_true_false_answer_only_reaches_bool_readers(playbook, question):
    """The answer is the string "false", which is truthy: every read must go through `| bool` or a typed option."""
    var = question["variable"]
    allowed = re.compile(
        r"(?<![\w.]){0}(\s*\|\s*default\([^)]*\))?\s*\|\s*bool"     # var | bool, var | default(x) | bool
        r"|:\s*\"\{{\{{\s*{0}\s*\}}\}}\""                          # option: "{{ var }}"
        r"|else\s+{0}\s*\}}\}}\"".format(var))                      # option: "{{ x if c else var }}"
    for path in _files(playbook):
        for line in open(path):
            mentions = re.search(r"(?<![\w.])" + var + r"(?!\w)", line)
            if not mentions or re.match(r"\s*(#|-?\s*name:|" + var + r":)", line):  # a comment, a name, the default
                continue
            assert allowed.search(line), "{0} reads {1} without | bool: {2}".format(
                os.path.relpath(path, REPO), var, line.strip())


def _injected(key, inputs):
    """The extra vars AWX injects for a credential of this type (its injector templates rendered with the inputs;
    a field left empty renders as "", as in AWX's sandbox)."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment()
    return {var: env.from_string(tmpl).render(**inputs)
            for var, tmpl in CREDENTIAL_TYPES[key]["injectors"]["extra_vars"].items()}


SAMPLES = {
    "ontap": [{"management_lif": "192.0.2.10", "svm": "svm-awx", "username": "awx-ontap-user",
               "password": "awx-ontap-secret", "validate_certs": True}],
    "vcenter": [
        {"url": "https://vcenter.example.com/sdk", "username": "awx-vc-user", "password": "awx-vc-secret",
         "thumbprint": "52:6C:4E:88:1D:78:AE:12:1C:F3:BB:6C:5B:F4:E2:82:86:A7:08:AF"},
        {"url": "https://vcenter.example.com/sdk", "username": "awx-vc-user", "password": "awx-vc-secret",
         "ca_cert": "-----BEGIN CERTIFICATE-----\nawx-vc-ca\n-----END CERTIFICATE-----"},
    ],
}


def _all_injected(key, inputs):
    """The extra vars of a job with every credential type attached, this one's with these inputs."""
    extra_vars = {}
    for other, samples in SAMPLES.items():
        extra_vars.update(_injected(other, inputs if other == key else samples[0]))
    return extra_vars


CASES = [(key, inputs) for key, samples in SAMPLES.items() for inputs in samples]


def _trusted(value):
    """Inventory variables as AWX hands them to a job: its inventory script's output, which ansible-core trusts as
    templates (plugins/inventory/script.py tags it TrustedAsTemplate)."""
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return trust_as_template(value) if isinstance(value, str) else value


def _wired(extra_vars):
    """The AWX inventory's group variables, rendered by Ansible with the injected extra vars."""
    loader = DataLoader()
    group_vars = _trusted(_load(GROUP_VARS))
    templar = Templar(loader=loader, variables=dict(group_vars, **extra_vars))
    return {name: templar.template(value) for name, value in group_vars.items()}


def _paths(value, needle, path=()):
    """Where in a structure a string equals needle (list items as '[]')."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, needle, path + (k,))]
    if isinstance(value, list):
        return [p for v in value for p in _paths(v, needle, path + ("[]",))]
    return [path] if value == needle else []


def _playbook_specs():
    """The options the playbooks check themselves (their ansible.builtin.validate_argument_spec tasks)."""
    specs = {}
    for playbook in _playbooks():
        for play in _plays(playbook):
            for task in play.get("tasks", []):
                specs.update((task.get("ansible.builtin.validate_argument_spec") or {}).get("argument_spec", {}))
    return specs


def _option(path):
    """The role (or playbook) option a path (variable, key, '[]', key...) names, or None."""
    spec = next((s[path[0]] for s in list(ENTRY_SPECS.values()) + [_playbook_specs()] if path[0] in s), None)
    for part in path[1:]:
        if spec is None:
            return None
        if part != "[]":
            spec = (spec.get("options") or {}).get(part)
    return spec


@pytest.mark.parametrize("key,inputs", CASES, ids=["{0}-{1}".format(k, "-".join(sorted(i))) for k, i in CASES])
def test_credential_injectors_reach_role_options(key, inputs):
    fields = {f["id"]: f for f in CREDENTIAL_TYPES[key]["inputs"]["fields"]}
    wired = _wired(_all_injected(key, inputs))

    for role, spec in ENTRY_SPECS.items():
        params = {k: v for k, v in wired.items() if k in spec}
        if params:
            result = ArgumentSpecValidator({k: spec[k] for k in params}).validate(params)
            assert result.error_messages == [], "{0}: {1}".format(role, result.error_messages)

    for field, value in inputs.items():
        if isinstance(value, bool):
            continue  # booleans: test_boolean_fields_reach_bool_options
        paths = [p for name, v in wired.items() for p in _paths(v, value, (name,))]
        assert paths, "the {0} credential's {1} reaches no role variable".format(key, field)
        for path in paths:
            option = _option(path)
            assert option is not None, "{0} is not a role option".format(path)
            assert bool(option.get("no_log")) == bool(fields[field].get("secret")), \
                "{0} field {1} (secret {2}) reaches {3} (no_log {4})".format(
                    key, field, fields[field].get("secret", False), path, option.get("no_log", False))


def test_boolean_fields_reach_bool_options():
    for key, samples in SAMPLES.items():
        for field in CREDENTIAL_TYPES[key]["inputs"]["fields"]:
            if field.get("type") != "boolean":
                continue
            seen = []
            for value in (True, False):
                wired = _wired(_all_injected(key, dict(samples[0], **{field["id"]: value})))
                seen.append({k: v for k, v in wired.items() if isinstance(v, bool)})
            flipped = [k for k in seen[0] if seen[0][k] != seen[1].get(k)]
            assert flipped and all(_option((k,))["type"] == "bool" for k in flipped), (key, field["id"], seen)


def test_every_injector_variable_is_used_and_every_secret_is_a_secret_field():
    with open(GROUP_VARS) as f:
        wiring = f.read()
    for key, ctype in CREDENTIAL_TYPES.items():
        fields = {f["id"]: f for f in ctype["inputs"]["fields"]}
        for var, tmpl in ctype["injectors"]["extra_vars"].items():
            assert re.search(r"(?<![\w.])" + var + r"(?!\w)", wiring), "{0} is injected but never read".format(var)
            used = re.findall(r"\{\{\s*(\w+)\s*\}\}", tmpl)
            assert used and set(used) <= set(fields)
        for field_id, field in fields.items():
            if re.search("password|token|secret", field_id):
                assert field.get("secret") is True, "{0}.{1} must be secret".format(key, field_id)
        assert set(ctype["inputs"]["required"]) <= set(fields)


def test_no_option_the_roles_keep_secret_is_written_in_the_awx_inventory():
    """no_log options in the AWX inventory get their value from a credential's injected variable."""
    group_vars = _load(GROUP_VARS)
    injected = {v for t in CREDENTIAL_TYPES.values() for v in t["injectors"]["extra_vars"]}

    def walk(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + (k,))
        elif isinstance(value, list):
            for v in value:
                walk(v, path + ("[]",))
        elif (_option(path) or {}).get("no_log"):
            assert set(_result_vars(value)) & injected, "{0} is written in the inventory".format(path)

    for name, value in group_vars.items():
        walk(value, (name,))


def test_kubernetes_credential_reaches_every_module_through_k8s_auth_variables(monkeypatch):
    """AWX's "OpenShift or Kubernetes API Bearer Token" sets K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL and
    K8S_AUTH_SSL_CA_CERT; the modules fall back to them unless a kubeconfig is given, and the AWX inventory gives
    none (every playbook passes k8s_kubeconfig only when it is defined)."""
    # plugins/module_utils/module.py connect() hands the module to kubernetes.core's get_api_client, which reads
    # each connection option the module was not given from K8S_AUTH_<option or its kubernetes client name>.
    spec = module_args.module_argument_spec({})
    params = {name: None for name in spec}
    env = {"K8S_AUTH_HOST": "https://api.ocp.example.com:6443", "K8S_AUTH_API_KEY": "sha256~awx-token",
           "K8S_AUTH_VERIFY_SSL": "True", "K8S_AUTH_SSL_CA_CERT": "/runner/env/ca.crt"}
    monkeypatch.setattr(k8s_client.os, "environ", dict(env))
    module = type("Module", (), {"params": params})()
    auth = k8s_client._create_auth_spec(module=module)  # pylint: disable=protected-access
    given = {k: v for k, v in auth.items() if v not in ({}, None)}
    assert given == {"host": env["K8S_AUTH_HOST"], "api_key": env["K8S_AUTH_API_KEY"], "verify_ssl": True,
                     "ssl_ca_cert": env["K8S_AUTH_SSL_CA_CERT"]}
    assert AWX_VARS["awx_credentials"]["kubernetes"]["credential_type"] == "OpenShift or Kubernetes API Bearer Token"
    assert "k8s_kubeconfig" not in _load(GROUP_VARS)
    for playbook in _playbooks():
        for play in _plays(playbook):
            for defaults in play.get("module_defaults", {}).values():
                assert defaults.get("kubeconfig") == "{{ k8s_kubeconfig | default(omit) }}", playbook
    for template in AWX_VARS["awx_job_templates"]:
        assert "kubernetes" in template["credentials"]
        for key in template["credentials"]:
            assert key in AWX_VARS["awx_credentials"]


def test_credential_types_are_those_the_job_templates_use():
    for key, ctype in CREDENTIAL_TYPES.items():
        assert AWX_VARS["awx_credentials"][key]["credential_type"] == ctype["name"]
    assert TEMPLATES["playbooks/prerequisites.yml"]["credentials"] == ["kubernetes", "ontap"]
    assert "vcenter" in TEMPLATES["playbooks/migrate.yml"]["credentials"]


def test_workflow_chains_prerequisites_installation_migration():
    names = {t["name"]: t["playbook"] for t in AWX_VARS["awx_job_templates"]}
    (workflow,) = AWX_VARS["awx_workflows"]
    nodes = {n["identifier"]: n for n in workflow["nodes"]}
    order, node = [], workflow["nodes"][0]
    while node:
        order.append(names[node["unified_job_template"]["name"]])
        assert node["unified_job_template"]["type"] == "job_template"
        following = node.get("related", {}).get("success_nodes", [])
        node = nodes[following[0]["identifier"]] if following else None
    assert order == ["playbooks/prerequisites.yml", "playbooks/installation.yml", "playbooks/migrate.yml"]
    assert len(order) == len(nodes)


def test_schedule_answers_the_survey_of_scheduled_protection():
    names = {t["name"]: t for t in AWX_VARS["awx_job_templates"]}
    (schedule,) = AWX_VARS["awx_schedules"]
    template = names[schedule["job_template"]]
    assert template["playbook"] == "playbooks/scheduled_protection.yml"
    assert re.fullmatch(r"DTSTART:\d{8}T\d{6}Z RRULE:FREQ=DAILY;INTERVAL=1", schedule["rrule"])
    questions = {q["variable"]: q for q in template["survey"]}
    for var, value in schedule["extra_data"].items():
        question = questions[var]
        assert isinstance(value, int) if question["type"] == "integer" else isinstance(value, str)
    assert {q for q, spec in questions.items() if spec["required"] and not spec.get("default")} <= \
        set(schedule["extra_data"])


def test_configure_gives_each_awx_module_only_options_it_documents():
    """awx/configure.yml against the awx.awx collection the `ansible` package ships (its modules' DOCUMENTATION)."""
    found = importlib.util.find_spec("ansible_collections.awx.awx.plugins.modules")
    assert found, "the awx.awx collection is not installed beside ansible (the `ansible` package ships it)"
    modules = list(found.submodule_search_locations)[0]
    (play,) = _load(os.path.join(AWX, "configure.yml"))
    for task in play["tasks"]:
        module = next(k for k in task if k.startswith("awx.awx."))
        with open(os.path.join(modules, module.split(".")[-1] + ".py")) as f:
            doc = yaml.safe_load(re.search(r"^DOCUMENTATION = '''\n(.*?)^'''", f.read(), re.S | re.M).group(1))
        names = {n for name, o in doc["options"].items() for n in [name] + o.get("aliases", [])}
        assert set(task[module]) <= names, "{0}: {1}".format(module, set(task[module]) - names)
        if module == "awx.awx.credential_type":
            kinds = {t["kind"] for t in AWX_VARS["awx_credential_types"]}
            assert kinds <= set(doc["options"]["kind"]["choices"])
