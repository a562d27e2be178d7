"""A lab's state dir and what it records: the one place that knows the layout.

`lab.json` (machine readable), `kubeconfig` (admin), `lab-vars.yml` and `inventory.yml`
(Ansible), `audit.log`, `pki/`, `users/` and one log per process.
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lab import kubeconfig, pki, procs

LOOPBACK = "127.0.0.1"


@dataclass
class Lab:
    """A lab, running or being started. `vars` holds k8s_api_url, kubeconfig, ca_cert,
    vcsim_url/_host/_port/_username/_password and, with the ONTAP stand-in, ontap."""

    state_dir: Path
    ports: dict = field(default_factory=dict)  # name -> TCP port on 127.0.0.1
    vars: dict = field(default_factory=dict)  # what Ansible and the tests get
    processes: list = field(default_factory=list)

    def port(self, name: str) -> int:
        """The port for `name`, picked (free, random) on first use."""
        if name not in self.ports:
            self.ports[name] = procs.free_port()
        return self.ports[name]

    def path(self, *parts) -> Path:
        return self.state_dir.joinpath(*parts)

    @property
    def api_url(self) -> str:
        return f"https://{LOOPBACK}:{self.port('kube-apiserver')}"

    @property
    def kubeconfig(self) -> Path:
        return self.path("kubeconfig")

    @property
    def audit_log(self) -> Path:
        return self.path("audit.log")

    @property
    def ca(self) -> pki.CA:
        return pki.CA(self.path("pki"))

    @property
    def manifest(self) -> Path:
        return self.path("lab.json")

    def api_client(self):
        return kubeconfig.api_client(self.kubeconfig)

    def user_kubeconfig(self, user: str, groups=()) -> Path:
        """A kubeconfig for a client-cert user of the lab CA (RBAC decides what it may do)."""
        directory = self.path("users")
        directory.mkdir(exist_ok=True)
        credentials = self.ca.issue(f"user-{user}", user, groups)
        return kubeconfig.write(directory / f"{user}.kubeconfig", self.api_url, self.ca, user,
                                credentials)

    def vcenter(self, ca_path=None) -> dict:
        """vcsim as migration_assessment's ``vcenter`` option takes it, trusting the lab CA unless told otherwise."""
        return {"hostname": self.vars["vcsim_host"], "port": self.vars["vcsim_port"],
                "username": self.vars["vcsim_username"], "password": self.vars["vcsim_password"],
                "ca_path": str(ca_path or self.vars["ca_cert"])}

    def mtv_provider(self, namespace: str) -> dict:
        """vcsim as the migration role's ``migration_provider`` (named vcenter) in ``namespace``."""
        return {"name": "vcenter", "namespace": namespace, "url": self.vars["vcsim_url"],
                "username": self.vars["vcsim_username"], "password": self.vars["vcsim_password"],
                "ca_cert": Path(self.vars["ca_cert"]).read_text(), "vddk_init_image": "quay.io/kubev2v/vddk:lab"}

    def running(self) -> bool:
        return bool(self.processes) and all(p.alive() for p in self.processes)

    def save(self) -> None:
        self.manifest.write_text(json.dumps({
            "state_dir": str(self.state_dir), "api_url": self.api_url,
            "kubeconfig": str(self.kubeconfig), "audit_log": str(self.audit_log),
            "ports": self.ports, "vars": self.vars,
            "processes": [p.to_json() for p in self.processes],
        }, indent=2) + "\n")

    @classmethod
    def load(cls, state_dir: Path):
        manifest = Path(state_dir) / "lab.json"
        if not manifest.exists():
            return None
        data = json.loads(manifest.read_text())
        return cls(Path(state_dir), data["ports"], data["vars"],
                   [procs.Proc.from_json(p) for p in data["processes"]])

    def write_ansible_files(self) -> None:
        self.path("lab-vars.yml").write_text(yaml.safe_dump(self.vars, sort_keys=True))
        inventory = {"all": {
            "hosts": {"localhost": {"ansible_connection": "local",
                                    "ansible_python_interpreter": sys.executable}},
            "vars": self.vars,
        }}
        self.path("inventory.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
