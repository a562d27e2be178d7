"""Clients of the ONTAP stand-in that we did not write: requests against /api, and the
netapp.ontap Ansible modules run by ansible-playbook."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests
import yaml

_ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


class Rest:
    """requests against /api as one of the lab's accounts."""

    def __init__(self, endpoint: dict, account: str = "cluster_admin", password: str | None = None):
        self.base = endpoint["url"] + "/api/"
        self.session = requests.Session()
        credentials = endpoint[account]
        self.session.auth = (credentials["username"], password or credentials["password"])
        self.session.verify = endpoint["ca_cert"]
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would replace the lab's CA

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.base + path.lstrip("/"), timeout=30, **kwargs)

    def get(self, path: str, **params) -> requests.Response:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict, **params) -> requests.Response:
        return self.request("POST", path, json=body, params=params)

    def patch(self, path: str, body: dict, **params) -> requests.Response:
        return self.request("PATCH", path, json=body, params=params)

    def delete(self, path: str, **params) -> requests.Response:
        return self.request("DELETE", path, params=params)

    def records(self, path: str, **params) -> list:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()["records"]

    def one(self, path: str, **params) -> dict:
        records = self.records(path, **params)
        assert len(records) == 1, records
        return records[0]

    def job(self, response: requests.Response) -> dict:
        """The finished job an asynchronous request answered with."""
        assert response.status_code == 202, response.text
        return self.get(response.json()["job"]["_links"]["self"]["href"][len("/api/"):]).json()


def run_tasks(endpoint: dict, tasks: list, account: str = "cluster_admin", password: str | None = None,
              verify_with_ca: bool = False) -> list:
    """Run netapp.ontap tasks with ansible-playbook against the stand-in; one result per task.

    Tasks that are expected to fail must say `ignore_errors: true`, so the play goes on.
    """
    credentials = endpoint[account]
    connection = {"hostname": endpoint["hostname"], "http_port": endpoint["http_port"],
                  "username": credentials["username"], "password": password or credentials["password"],
                  "validate_certs": verify_with_ca, "use_rest": "always"}
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "module_defaults": {"group/netapp.ontap.netapp_ontap": connection}, "tasks": tasks}]
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
               ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_NOCOLOR="1")
    if verify_with_ca:
        env["REQUESTS_CA_BUNDLE"] = endpoint["ca_cert"]
    with tempfile.TemporaryDirectory(prefix="ontap-play-") as directory:
        playbook = Path(directory) / "play.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        process = subprocess.run([str(_ANSIBLE_PLAYBOOK), "-i", "localhost,", str(playbook)], env=env,
                                 capture_output=True, text=True, timeout=600)
    try:
        output = json.loads(process.stdout)
    except ValueError:
        pytest.fail(f"ansible-playbook did not report JSON (rc {process.returncode}):\n{process.stdout}\n"
                    f"{process.stderr}")
    results = [task["hosts"]["localhost"] for task in output["plays"][0]["tasks"]]
    assert len(results) == len(tasks), f"the play stopped early:\n{process.stdout}\n{process.stderr}"
    return results
