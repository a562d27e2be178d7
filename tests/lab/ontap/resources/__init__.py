"""The ONTAP collections the stand-in serves, one module per family."""

from ..jobs import Jobs
from .cluster import Cluster, Nodes, Schedules
from .nas import ExportPolicies, ExportRules
from .network import IpInterfaces
from .nvme import Namespaces, SubsystemHosts, SubsystemMaps, Subsystems
from .san import IgroupInitiators, Igroups, LunAttributes, LunMapReportingNodes, LunMaps, Luns
from .security import Accounts, RolePrivileges, Roles
from .services import IscsiServices, NfsServices, NvmeServices
from .storage import Aggregates, SnapshotPolicies
from .support import EmsApplicationLogs, OntapMode
from .svms import Svms
from .volumes import Snapshots, Volumes

ALL = (Cluster, Nodes, Jobs, Schedules, Svms, Aggregates, SnapshotPolicies, IpInterfaces,
       Volumes, Snapshots, Luns, LunAttributes, Igroups, IgroupInitiators, LunMaps, LunMapReportingNodes,
       IscsiServices, NfsServices, NvmeServices, Subsystems, SubsystemHosts, SubsystemMaps, Namespaces,
       ExportPolicies, ExportRules, Accounts, Roles, RolePrivileges, EmsApplicationLogs, OntapMode)


def build() -> list:
    return [resource() for resource in ALL]
