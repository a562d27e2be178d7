"""Write an RST page describing every playbook under playbooks/ (antsibull-docs renders modules and roles only).

Each playbook is found by listing the folder, never by a list kept here. What the page says comes from the
playbook itself: its header comment (the lines starting with # before the first play), then per play its name,
hosts, the roles and playbooks it runs, the variables it sets (which -e overrides) and the variables it reads
without setting them or giving a default (which the inventory or -e must give).

    python docs/playbook_pages.py PLAYBOOK_DIR OUTPUT_RST
"""

import os
import re
import sys

import yaml

COLLECTION = "ontap.virtualization"
# Jinja references: {{ name ... }} or a bare name inside a when/loop expression is not parsed (too loose).
REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}\}")
# Names Ansible provides itself, never to be asked from the user.
PROVIDED = {"item", "ansible_check_mode", "ansible_diff_mode", "inventory_hostname", "hostvars", "groups",
            "omit", "ansible_loop", "lookup", "query", "playbook_dir", "ansible_play_hosts", "true", "false"}


def header_comment(text):
    """The comment lines at the top of a playbook, without their '#'."""
    lines = []
    for line in text.splitlines():
        if line.strip() == "---" and not lines:
            continue
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip() if not line.startswith("#   ") else line[1:])
    return lines


def _walk(node, found):
    if isinstance(node, dict):
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)
    elif isinstance(node, str):
        for name, rest in REFERENCE.findall(node):
            if "default(" not in rest and "default (" not in rest and not rest.lstrip().startswith("("):
                found.add(name)


def _registered(node, found):
    if isinstance(node, dict):
        if isinstance(node.get("register"), str):
            found.add(node["register"])
        facts = node.get("ansible.builtin.set_fact") or node.get("set_fact")
        if isinstance(facts, dict):
            found.update(facts)
        task_vars = node.get("vars")
        if isinstance(task_vars, dict):
            found.update(task_vars)
        loop_control = node.get("loop_control") or {}
        if isinstance(loop_control, dict) and isinstance(loop_control.get("loop_var"), str):
            found.add(loop_control["loop_var"])
        for value in node.values():
            _registered(value, found)
    elif isinstance(node, list):
        for value in node:
            _registered(value, found)


def read_plays(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return header_comment(text), yaml.safe_load(text) or []


def _role_name(entry):
    name = entry if isinstance(entry, str) else entry.get("role") or entry.get("name")
    return name


def _role_ref(name):
    if name.startswith(COLLECTION + "."):
        short = name[len(COLLECTION) + 1:]
        return ":ref:`{0} <ansible_collections.{1}.{2}_role>`".format(name, COLLECTION, short)
    return "``{0}``".format(name)


def _value(value):
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    if text.endswith("\n..."):
        text = text[:-4].strip()
    text = text.replace("\n...", "").replace("\n", " ")
    return "``{0}``".format(text) if text else "``''``"


def _inventory_vars(inventory_dir):
    """Variables the example inventory sets (group_vars), so they are not listed as missing."""
    names = set()
    for root, _dirs, files in os.walk(inventory_dir):
        for name in files:
            if name.endswith((".yml", ".yaml")):
                with open(os.path.join(root, name), encoding="utf-8") as handle:
                    data = yaml.safe_load(handle) or {}
                if isinstance(data, dict):
                    names.update(data)
    return names


def _play_vars(play, playbook_dir):
    """The play's vars, with those of its vars_files (paths relative to the playbook) first."""
    found = {}
    files = play.get("vars_files") or []
    for name in [files] if isinstance(files, str) else files:
        with open(os.path.join(playbook_dir, name), encoding="utf-8") as handle:
            found.update(yaml.safe_load(handle) or {})
    found.update(play.get("vars") or {})
    return found


def describe_play(play, inventory_vars, playbook_dir):
    lines = []
    if "import_playbook" in play or "ansible.builtin.import_playbook" in play:
        target = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        lines.append("- {0}: runs :ref:`{1} <playbook_{2}>`".format(
            play.get("name", "Import"), target, os.path.splitext(target)[0]))
        return lines
    lines.append("- **{0}** (hosts ``{1}``)".format(play.get("name", "(unnamed play)"), play.get("hosts", "")))
    roles = [_role_name(entry) for entry in play.get("roles") or []]
    if roles:
        lines.append("")
        lines.append("  Roles: " + ", ".join(_role_ref(name) for name in roles))
    tasks = [task.get("name", "(unnamed task)") for task in play.get("tasks") or [] if isinstance(task, dict)]
    if tasks:
        lines.append("")
        lines.append("  Tasks:")
        lines.append("")
        lines.extend("  - " + name.replace("{{", "``{{").replace("}}", "}}``") for name in tasks)
    play_vars = _play_vars(play, playbook_dir)
    if play_vars:
        lines.extend(["", "  Variables it sets (override with ``-e``):", ""])
        lines.extend("  - ``{0}``: {1}".format(name, _value(value)) for name, value in play_vars.items())
    used, defined = set(), set(play_vars) | inventory_vars | PROVIDED
    _walk({key: value for key, value in play.items() if key not in ("vars", "vars_files")}, used)
    _registered(play, defined)
    # A role's own variables (prefixed by its name) have defaults in the role.
    prefixes = tuple(role.split(".")[-1] + "_" for role in roles)
    needed = sorted(name for name in used - defined if not (prefixes and name.startswith(prefixes)))
    if needed:
        lines.extend(["", "  Variables to give (inventory or ``-e``): " +
                      ", ".join("``{0}``".format(name) for name in needed)])
    return lines


def page(playbook_dir):
    inventory_vars = _inventory_vars(os.path.join(playbook_dir, "..", "inventories"))
    out = ["Playbooks", "=========", "",
           "The playbooks under ``playbooks/`` of the collection, described from their own files "
           "(header comment, plays, roles and variables). Run them with "
           "``ansible-playbook -i INVENTORY playbooks/NAME.yml``; ``inventories/lab`` is an example inventory.", ""]
    for name in sorted(os.listdir(playbook_dir)):
        if not name.endswith((".yml", ".yaml")):
            continue
        header, plays = read_plays(os.path.join(playbook_dir, name))
        stem = os.path.splitext(name)[0]
        out.extend([".. _playbook_{0}:".format(stem), "", name, "-" * len(name), ""])
        if header:
            out.extend([".. code-block:: text", ""] + ["  " + line for line in header] + [""])
        for play in plays:
            out.extend(describe_play(play, inventory_vars, playbook_dir))
            out.append("")
    return "\n".join(out) + "\n"


def main(argv):
    playbook_dir, output = argv[1], argv[2]
    text = page(playbook_dir)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(text)


if __name__ == "__main__":
    main(sys.argv)
