"""The docs site's playbooks page (docs/playbook_pages.py, run by `make docs`) describes every playbook from
its own file: found by listing playbooks/, with its header comment, roles and variables."""

import os
import sys

import yaml

from collection_build import REPO

sys.path.insert(0, os.path.join(REPO, "docs"))
import playbook_pages  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOKS = os.path.join(REPO, "playbooks")


def _playbooks():
    return sorted(name for name in os.listdir(PLAYBOOKS) if name.endswith((".yml", ".yaml")))


def test_every_playbook_has_a_section_with_its_roles():
    page = playbook_pages.page(PLAYBOOKS)
    for name in _playbooks():
        assert ".. _playbook_{0}:".format(os.path.splitext(name)[0]) in page
        with open(os.path.join(PLAYBOOKS, name), encoding="utf-8") as handle:
            plays = yaml.safe_load(handle)
        for play in plays:
            for role in play.get("roles") or []:
                role = role if isinstance(role, str) else role["role"]
                assert "<ansible_collections.{0}_role>".format(role) in page, (name, role)


def test_a_variable_read_without_a_default_is_listed_as_one_to_give(tmp_path):
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "drain.yml").write_text(
        "---\n# Drain a node.\n#   ansible-playbook drain.yml -e drain_node=worker-1\n"
        "- name: Drain\n  hosts: all\n  vars:\n    drain_timeout: 60\n  tasks:\n"
        "    - name: Drain {{ drain_node }}\n      ansible.builtin.debug:\n"
        "        msg: \"{{ drain_node }} {{ drain_timeout }} {{ drain_reason | default('') }} {{ result }}\"\n"
        "      register: result\n")
    page = playbook_pages.page(str(tmp_path / "playbooks"))
    assert "  Drain a node.\n" in page and "-e drain_node=worker-1" in page
    assert "``drain_timeout``: ``60``" in page
    assert "Variables to give (inventory or ``-e``): ``drain_node``\n" in page


def test_a_vars_file_s_variables_are_listed_as_the_play_s_own(tmp_path):
    (tmp_path / "playbooks" / "vars").mkdir(parents=True)
    (tmp_path / "playbooks" / "vars" / "drain.yml").write_text("---\ndrain_timeout: 60\n")
    (tmp_path / "playbooks" / "drain.yml").write_text(
        "---\n- name: Drain\n  hosts: all\n  vars_files: vars/drain.yml\n  tasks:\n"
        "    - name: Drain\n      ansible.builtin.debug:\n        msg: \"{{ drain_timeout }}\"\n")
    page = playbook_pages.page(str(tmp_path / "playbooks"))
    assert "``drain_timeout``: ``60``" in page
    assert "Variables to give" not in page
