"""Simulated trident-operator (NetApp Trident v26.06.0): installs Trident for a TridentOrchestrator.

It acts only while OLM runs it (a Succeeded ClusterServiceVersion of the `trident-operator`
package); the Trident it installs is of the operator's own version. As upstream's orchestrator
controller (`operator/controllers/orchestrator/controller.go`): one TridentOrchestrator controls
Trident (the first whose status is neither "" nor `Error`, else the first not asking to
uninstall, preferring one whose `spec.namespace` is the operator's namespace); every other one is
marked `Error` "Trident is bound to another CR '<name>'". Status goes `Installing` -> `Installed`
(message "Trident installed", `version`, `namespace`, `currentInstallationParams`), `Updating`
when the operator's version changes, `Failed` with "Failed to install Trident; err: ..." when the
installer's prechecks refuse the spec (log format, node prep), and `Failed` on a namespace change.
A Trident installed another way (here: the CSIDriver without a TridentOrchestrator owner) is
removed first, as `removeNonTorcBasedCSIInstallation` does.

What the install leaves (``installer``): the CSIDriver owned by the orchestrator, a TridentNode
per node (its `hostInfo.services` name iSCSI where node prep prepared it), and the TridentVersion
the Trident controller writes once it runs, which starts the lab's Trident
(``lab.controllers.trident.core.running``). Not simulated: the Deployment, DaemonSet, RBAC and
Services of a real install, the TridentConfigurator, and uninstall wipeouts of CRDs.
"""

from lab.controllers.olm.kinds import CSV
from lab.controllers.runtime import Controller, Watch
from lab.controllers.trident_operator.orchestrator import TORC, reconcile_orchestrator


def setup(manager, webhooks) -> None:
    api = manager.api

    def every_orchestrator(_obj) -> list:
        try:
            return [(None, torc["metadata"]["name"]) for torc in api.list(*TORC)]
        except Exception:  # the resync catches up
            return []

    manager.add(Controller("trident-operator", *TORC, reconcile_orchestrator, resync_seconds=30,
                           watches=[Watch(*CSV, every_orchestrator), Watch("v1", "Node", every_orchestrator)]))
