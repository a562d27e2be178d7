"""Every lab server listens on 127.0.0.1 only, and a stopped lab leaves nothing behind."""

from pathlib import Path

import lab as lab_package
from lab import procs


def _listening_ports() -> set:
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                ports.add(int(fields[1].split(":")[1], 16))
    return ports


def test_session_lab_listens_on_loopback_only(lab):
    listeners = {p.name: procs.listeners(p.pid) for p in lab.processes}
    assert listeners["kube-apiserver"] and listeners["etcd"] and listeners["vcsim"]
    for name, addresses in listeners.items():
        assert {ip for ip, _ in addresses} <= {"127.0.0.1"}, name


def test_stopped_lab_leaves_no_process_or_listener(tmp_path):
    other = lab_package.start(state_dir=tmp_path / "lab")
    ports = {port for p in other.processes for _, port in procs.listeners(p.pid)}
    assert ports and all(p.alive() for p in other.processes)

    lab_package.stop(other.state_dir)

    assert not any(p.alive() for p in other.processes)
    assert ports.isdisjoint(_listening_ports())
    assert not other.state_dir.exists()
