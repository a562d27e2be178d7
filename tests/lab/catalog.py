"""The lab's OLM catalog: the `redhat-operators` CatalogSource and what it offers.

What a real `registry.redhat.io/redhat/redhat-operator-index:v4.21` would serve for the two
packages the collection installs, reduced to what OLM's resolver and the collection read:
package -> channels -> bundles (CSV name, version, replaces/skips) and, per bundle, the
ClusterServiceVersion spec OLM copies into the Subscription's namespace.

Versions: OpenShift Virtualization 4.21 ships HCO v1.18 / KubeVirt v1.8 / CDI v1.65
(see ../shared/reference/storage-virt-apis.md); MTV offers 2.10, 2.11 and 2.12 up to 2.12.5, the
release the lab's Forklift CRDs come from (../shared/crds/forklift.konveyor.io/SOURCE.md).

A channel entry's `skipRange` (as in a file-based catalog) lets it replace any installed bundle
whose version is in that range, so the resolver goes to the newest such entry of the channel.
"""

CATALOG_NAME = "redhat-operators"
CATALOG_NAMESPACE = "openshift-marketplace"
CATALOG_IMAGE = "registry.redhat.io/redhat/redhat-operator-index:v4.21"


def _modes(own, single, multi, all_):
    return [{"type": "OwnNamespace", "supported": own},
            {"type": "SingleNamespace", "supported": single},
            {"type": "MultiNamespace", "supported": multi},
            {"type": "AllNamespaces", "supported": all_}]


def _crd(kind, plural, description, display=None):
    return {"name": f"{plural}.forklift.konveyor.io", "version": "v1beta1", "kind": kind,
            "displayName": display or kind, "description": description}


# The CRDs the mtv-operator 2.12 bundles own (their crdDescriptions; the lab serves these CRDs from
# Forklift v2.12.5). 2.11 bundles own all but Conversion; 2.10 bundles neither Conversion nor
# HyperVProviderServer.
MTV_OWNED = [
    _crd("Conversion", "conversions", "VM conversion and inspection lifecycle manager"),
    _crd("ForkliftController", "forkliftcontrollers", "VM migration controller"),
    _crd("Hook", "hooks", "Hook schema for the hooks API"),
    _crd("Host", "hosts", "VM host"),
    {"name": "hypervproviderservers.forklift.konveyor.io", "version": "v1beta1", "kind": "HyperVProviderServer"},
    _crd("Migration", "migrations", "VM migration"),
    _crd("NetworkMap", "networkmaps", "VM network map"),
    _crd("OpenstackVolumePopulator", "openstackvolumepopulators", "OpenStack Volume Populator"),
    _crd("OVAProviderServer", "ovaproviderservers", "OVA Provider Server"),
    _crd("OvirtVolumePopulator", "ovirtvolumepopulators", "oVirt Volume Populator"),
    _crd("Plan", "plans", "VM migration plan"),
    _crd("Provider", "providers", "VM provider"),
    _crd("StorageMap", "storagemaps", "VM storage map"),
    _crd("VSphereXcopyVolumePopulator", "vspherexcopyvolumepopulators", "VSphere Xcopy Volume Populator"),
]
_MTV_NOT_OWNED = {"2.10": ("Conversion", "HyperVProviderServer"), "2.11": ("Conversion",), "2.12": ()}


def _mtv_channel(minor: str, patches, first: int = 0) -> list:
    """release-v<minor>: mtv-operator.v<minor>.<patch>, each replacing the previous one of the channel."""
    owned = [crd for crd in MTV_OWNED if crd["kind"] not in _MTV_NOT_OWNED[minor]]
    entries = []
    for patch in patches:
        version = f"{minor}.{patch}"
        entry = {"name": f"mtv-operator.v{version}", "version": version, "skipRange": f">=0.0.0 <{version}",
                 "owned": owned}
        if patch != first:
            entry["replaces"] = entries[-1]["name"]
        entries.append(entry)
    return entries


# Each bundle: name, version, replaces, skips. Channel entries are listed oldest first;
# the channel head is the last one.
PACKAGES = {
    "kubevirt-hyperconverged": {
        "defaultChannel": "stable",
        "displayName": "OpenShift Virtualization",
        "provider": "Red Hat",
        "channels": {
            "stable": [
                {"name": "kubevirt-hyperconverged-operator.v4.21.0", "version": "4.21.0"},
                {"name": "kubevirt-hyperconverged-operator.v4.21.1", "version": "4.21.1",
                 "replaces": "kubevirt-hyperconverged-operator.v4.21.0"},
                {"name": "kubevirt-hyperconverged-operator.v4.21.3", "version": "4.21.3",
                 "replaces": "kubevirt-hyperconverged-operator.v4.21.1",
                 "skips": ["kubevirt-hyperconverged-operator.v4.21.2"]},
            ],
            "candidate": [
                {"name": "kubevirt-hyperconverged-operator.v4.21.3", "version": "4.21.3"},
                {"name": "kubevirt-hyperconverged-operator.v4.22.0", "version": "4.22.0",
                 "replaces": "kubevirt-hyperconverged-operator.v4.21.3"},
            ],
        },
        # The downstream bundle is installed into its own namespace (openshift-cnv) with an
        # OperatorGroup targeting that namespace; watching all namespaces is not offered.
        "installModes": _modes(True, True, False, False),
        "owned": [
            {"name": "hyperconvergeds.hco.kubevirt.io", "version": "v1beta1", "kind": "HyperConverged",
             "displayName": "OpenShift Virtualization Deployment",
             "description": "Represents the deployment of OpenShift Virtualization"},
            {"name": "kubevirts.kubevirt.io", "version": "v1", "kind": "KubeVirt",
             "displayName": "KubeVirt deployment", "description": "Represents the deployment of KubeVirt"},
            {"name": "cdis.cdi.kubevirt.io", "version": "v1beta1", "kind": "CDI",
             "displayName": "CDI deployment", "description": "Represents a CDI deployment"},
        ],
        "deployments": ["hco-operator", "hco-webhook", "hyperconverged-cluster-cli-download",
                        "virt-operator", "cdi-operator", "ssp-operator", "cluster-network-addons-operator",
                        "hostpath-provisioner-operator", "aaq-operator"],
        # OLM turns these into admission webhook configurations pointing at the operator.
        "webhooks": [
            {"type": "ValidatingAdmissionWebhook", "generateName": "validate-hco.kubevirt.io",
             "deploymentName": "hco-webhook", "containerPort": 4343,
             "webhookPath": "/validate-hco-kubevirt-io-v1beta1-hyperconverged",
             "admissionReviewVersions": ["v1beta1", "v1"], "sideEffects": "NoneOnDryRun",
             "failurePolicy": "Fail", "timeoutSeconds": 30,
             "rules": [{"apiGroups": ["hco.kubevirt.io"], "apiVersions": ["v1beta1"],
                        "operations": ["CREATE", "DELETE", "UPDATE"],
                        "resources": ["hyperconvergeds"]}]},
        ],
        "keywords": ["KubeVirt", "Virtualization", "VM"],
        "description": "OpenShift Virtualization extends Red Hat OpenShift Container Platform, allowing "
                       "you to host and manage virtualized workloads on the same platform as "
                       "container-based workloads.",
    },
    "mtv-operator": {
        # As the v4.21 redhat-operator-index has it (kubev2v/mtv-fbc v4.21/catalog-template.json at
        # 6e12fad, "2.12.5-1", 2026-08-11: the catalog when Forklift v2.12.5, whose CRDs the lab
        # serves, was the newest release): one channel per y-stream, default release-v2.12; every
        # entry has skipRange ">=0.0.0 <its version", so a channel's head upgrades any older one.
        "defaultChannel": "release-v2.12",
        "displayName": "Migration Toolkit for Virtualization Operator",
        "provider": "Red Hat",
        "channels": {
            "release-v2.10": _mtv_channel("2.10", [5], first=5),
            "release-v2.11": _mtv_channel("2.11", range(8)),
            "release-v2.12": _mtv_channel("2.12", range(6)),
        },
        # The bundle supports OwnNamespace only (installModes of every 2.10-2.12 bundle).
        "installModes": _modes(True, False, False, False),
        "owned": MTV_OWNED,
        "deployments": ["forklift-operator"],
        "webhooks": [],
        "keywords": ["migration", "forklift", "konveyor", "mtv"],
        "description": "The Migration Toolkit for Virtualization Operator manages the deployment and "
                       "life cycle of Migration Toolkit for Virtualization on OpenShift Container Platform.",
        "minKubeVersion": "1.27.0",
        "capabilities": "Seamless Upgrades",
    },
    "trident-operator": {
        # NetApp's certified bundle (the `certified-operators` index on OpenShift; the lab serves every
        # package from its one CatalogSource). The bundle owns the operator's CRDs; the Trident CRDs
        # (TridentBackendConfig, ...) are created by the operator's installer. Versions follow
        # Trident's (26.06.0 is bundle version 26.6.0); v26.6.0 replaces v26.2.1 on `stable`.
        "defaultChannel": "stable",
        "displayName": "NetApp Trident",
        "provider": "NetApp, Inc.",
        "channels": {"stable": [
            {"name": "trident-operator.v26.2.1", "version": "26.2.1"},
            {"name": "trident-operator.v26.6.0", "version": "26.6.0", "replaces": "trident-operator.v26.2.1"},
        ]},
        "installModes": _modes(True, True, False, True),
        "owned": [
            {"name": "tridentorchestrators.trident.netapp.io", "version": "v1", "kind": "TridentOrchestrator",
             "displayName": "Trident Orchestrator", "description": "Used to deploy NetApp Trident."},
            {"name": "tridentconfigurators.trident.netapp.io", "version": "v1", "kind": "TridentConfigurator",
             "displayName": "Trident Configurator", "description": "Automatic backend configuration."},
        ],
        "deployments": ["trident-operator"],
        "webhooks": [],
        "keywords": ["trident", "netapp", "storage", "csi"],
        "description": "NetApp Trident is a storage orchestrator for containers: it provisions persistent "
                       "volumes on ONTAP and other NetApp storage through its CSI driver.",
        "capabilities": "Seamless Upgrades",
    },
    # medik8s/node-maintenance-operator v0.20.1 (the release whose CRD the lab serves; bundle/manifests at that
    # tag): AllNamespaces only, one validating webhook for NodeMaintenances.
    "node-maintenance-operator": {
        "defaultChannel": "stable",
        "displayName": "Node Maintenance Operator",
        "provider": "Medik8s",
        "channels": {"stable": [{"name": "node-maintenance-operator.v0.20.1", "version": "0.20.1"}]},
        "installModes": _modes(False, False, False, True),
        "owned": [{"name": "nodemaintenances.nodemaintenance.medik8s.io", "version": "v1beta1",
                   "kind": "NodeMaintenance", "displayName": "Node Maintenance",
                   "description": "NodeMaintenance is the Schema for the nodemaintenances API"}],
        "deployments": ["node-maintenance-operator-controller-manager"],
        "webhooks": [
            {"type": "ValidatingAdmissionWebhook", "generateName": "vnodemaintenance.kb.io",
             "deploymentName": "node-maintenance-operator-controller-manager", "containerPort": 443,
             "webhookPath": "/validate-nodemaintenance-medik8s-io-v1beta1-nodemaintenance",
             "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
             "timeoutSeconds": 15,
             "rules": [{"apiGroups": ["nodemaintenance.medik8s.io"], "apiVersions": ["v1beta1"],
                        "operations": ["CREATE", "UPDATE"], "resources": ["nodemaintenances"]}]},
        ],
        "keywords": ["medik8s", "Node-maintenance", "nmo"],
        "description": "Node Maintenance Operator puts nodes into maintenance: it cordons and drains them.",
        "minKubeVersion": "1.23.0",
    },
}


def package(name: str):
    return PACKAGES.get(name)


def channel_entries(package_name: str, channel: str) -> list:
    pkg = PACKAGES.get(package_name) or {}
    return list(pkg.get("channels", {}).get(channel) or [])


def bundle(package_name: str, csv_name: str):
    for entries in (PACKAGES.get(package_name) or {}).get("channels", {}).values():
        for entry in entries:
            if entry["name"] == csv_name:
                return entry
    return None


def successor(package_name: str, channel: str, installed: str):
    """The bundle of `channel` that upgrades `installed`, if any: of the entries that replace it,
    skip it or whose skipRange holds its version, the newest (OLM moves as far up as one step goes)."""
    version = (bundle(package_name, installed) or {}).get("version")
    found = [entry for entry in channel_entries(package_name, channel)
             if entry["name"] != installed and (
                 entry.get("replaces") == installed or installed in (entry.get("skips") or [])
                 or (version and entry.get("skipRange") and in_range(version, entry["skipRange"])))]
    return max(found, key=lambda e: _version_tuple(e["version"])) if found else None


def _version_tuple(version: str) -> tuple:
    return tuple(int(part) for part in version.split("."))


def in_range(version: str, semver_range: str) -> bool:
    """Whether `version` satisfies a skipRange such as ">=0.0.0 <2.12.5" (comparators joined by spaces)."""
    value = _version_tuple(version)
    checks = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
              "<": lambda a, b: a < b, "=": lambda a, b: a == b}
    for comparator in semver_range.split():
        operator = next(op for op in (">=", "<=", ">", "<", "=", "") if comparator.startswith(op))
        if not checks[operator or "="](value, _version_tuple(comparator[len(operator):])):
            return False
    return True


def csv_spec(package_name: str, entry: dict) -> dict:
    """The ClusterServiceVersion spec of one bundle, as the bundle image carries it."""
    pkg = PACKAGES[package_name]
    version = entry["version"]
    labels = {"operatorframework.io/arch.amd64": "supported", "operatorframework.io/os.linux": "supported"}
    images = {
        "kubevirt-hyperconverged":
            "registry.redhat.io/container-native-virtualization/hyperconverged-cluster-operator-rhel9",
        "mtv-operator": "registry.redhat.io/migration-toolkit-virtualization/mtv-rhel9-operator",
        "node-maintenance-operator": "quay.io/medik8s/node-maintenance-operator",
        "trident-operator": "docker.io/netapp/trident-operator",
    }[package_name]
    deployments = [{
        "name": name,
        "label": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"name": name}},
            "template": {
                "metadata": {"labels": {"name": name}},
                "spec": {
                    "serviceAccountName": name,
                    "containers": [{"name": name, "image": f"{images}:v{version}",
                                    "imagePullPolicy": "IfNotPresent"}],
                },
            },
        },
    } for name in pkg["deployments"]]
    major_minor = ".".join(version.split(".")[:2])
    spec = {
        "displayName": pkg["displayName"],
        "description": pkg["description"],
        "version": version,
        "maturity": "stable",
        "minKubeVersion": pkg.get("minKubeVersion", "1.33.0"),
        "keywords": pkg["keywords"],
        "provider": {"name": pkg["provider"]},
        "maintainers": [{"name": "Red Hat", "email": "support@redhat.com"}],
        "links": [{"name": "Documentation",
                   "url": "https://docs.redhat.com/en/documentation/openshift_container_platform/"
                          f"{major_minor}"}],
        "labels": {"alm-owner-" + package_name: package_name, "operated-by": package_name},
        "selector": {"matchLabels": {"alm-owner-" + package_name: package_name,
                                     "operated-by": package_name}},
        "installModes": pkg["installModes"],
        "install": {"strategy": "deployment", "spec": {
            "deployments": deployments,
            "clusterPermissions": [{"serviceAccountName": pkg["deployments"][0],
                                    "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}],
        }},
        "customresourcedefinitions": {"owned": entry.get("owned") or pkg["owned"]},
        "relatedImages": [{"name": "operator", "image": f"{images}:v{version}"}],
    }
    if pkg["webhooks"]:
        spec["webhookdefinitions"] = pkg["webhooks"]
    if entry.get("replaces"):
        spec["replaces"] = entry["replaces"]
    if entry.get("skips"):
        spec["skips"] = list(entry["skips"])
    return {"spec": spec, "labels": labels,
            "annotations": {"olm.skipRange": entry.get("skipRange") or f">={major_minor}.0 <{version}",
                            "operators.openshift.io/valid-subscription":
                                '["OpenShift Kubernetes Engine", "OpenShift Container Platform", '
                                '"OpenShift Platform Plus"]',
                            "capabilities": pkg.get("capabilities", "Deep Insights"),
                            "categories": "OpenShift Optional"}}


def newest(package_name: str, channel: str):
    entries = channel_entries(package_name, channel)
    return max(entries, key=lambda e: _version_tuple(e["version"])) if entries else None
