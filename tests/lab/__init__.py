"""The project's local test lab: a real kube-apiserver, etcd and kube-controller-manager,
vcsim, and (in later parts) the ONTAP stand-in and simulated operators, all on 127.0.0.1.

    lab.start(reuse=False) -> Lab      lab.stop()      python -m lab up|down|status
"""

from lab.cluster import start, status, stop
from lab.state import Lab

__all__ = ["Lab", "start", "status", "stop"]
