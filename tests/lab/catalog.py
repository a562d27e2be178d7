"""The lab's OLM catalog: the `redhat-operators` CatalogSource and what it offers.

What a real `registry.redhat.io/redhat/redhat-operator-index:v4.21` would serve for the two
packages the collection installs, reduced to what OLM's resolver and the collection read:
package -> channels -> bundles (CSV name, version, replaces/skips) and, per bundle, the
ClusterServiceVersion spec OLM copies into the Subscription's namespace.

Versions: OpenShift Virtualization 4.21 ships HCO v1.18 / KubeVirt v1.8 / CDI v1.65
(see ../shared/reference/storage-virt-apis.md); MTV 2.10 is the current release.
"""

CATALOG_NAME = "redhat-operators"
CATALOG_NAMESPACE = "openshift-marketplace"
CATALOG_IMAGE = "registry.redhat.io/redhat/redhat-operator-index:v4.21"


def _modes(own, single, multi, all_):
    return [{"type": "OwnNamespace", "supported": own},
            {"type": "SingleNamespace", "supported": single},
            {"type": "MultiNamespace", "supported": multi},
            {"type": "AllNamespaces", "supported": all_}]


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
        "defaultChannel": "release-v2.10",
        "displayName": "Migration Toolkit for Virtualization Operator",
        "provider": "Red Hat",
        "channels": {
            "release-v2.9": [
                {"name": "mtv-operator.v2.9.4", "version": "2.9.4"},
                {"name": "mtv-operator.v2.9.5", "version": "2.9.5", "replaces": "mtv-operator.v2.9.4"},
            ],
            "release-v2.10": [
                {"name": "mtv-operator.v2.10.0", "version": "2.10.0", "replaces": "mtv-operator.v2.9.5"},
                {"name": "mtv-operator.v2.10.1", "version": "2.10.1", "replaces": "mtv-operator.v2.10.0"},
            ],
        },
        "installModes": _modes(True, True, False, False),
        "owned": [
            {"name": "forkliftcontrollers.forklift.konveyor.io", "version": "v1beta1",
             "kind": "ForkliftController", "displayName": "ForkliftController",
             "description": "VM migration controller"},
            {"name": "providers.forklift.konveyor.io", "version": "v1beta1", "kind": "Provider",
             "displayName": "Provider", "description": "VM provider"},
            {"name": "plans.forklift.konveyor.io", "version": "v1beta1", "kind": "Plan",
             "displayName": "Plan", "description": "VM migration plan"},
            {"name": "migrations.forklift.konveyor.io", "version": "v1beta1", "kind": "Migration",
             "displayName": "Migration", "description": "VM migration"},
            {"name": "networkmaps.forklift.konveyor.io", "version": "v1beta1", "kind": "NetworkMap",
             "displayName": "NetworkMap", "description": "VM network map"},
            {"name": "storagemaps.forklift.konveyor.io", "version": "v1beta1", "kind": "StorageMap",
             "displayName": "StorageMap", "description": "VM storage map"},
        ],
        "deployments": ["forklift-operator"],
        "webhooks": [],
        "keywords": ["migration", "forklift", "konveyor", "mtv"],
        "description": "The Migration Toolkit for Virtualization Operator manages the deployment and "
                       "life cycle of Migration Toolkit for Virtualization on OpenShift Container Platform.",
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
    """The bundle of `channel` that upgrades `installed` (replaces or skips it), if any."""
    for entry in channel_entries(package_name, channel):
        if entry.get("replaces") == installed or installed in (entry.get("skips") or []):
            return entry
    return None


def _version_tuple(version: str) -> tuple:
    return tuple(int(part) for part in version.split("."))


def csv_spec(package_name: str, entry: dict) -> dict:
    """The ClusterServiceVersion spec of one bundle, as the bundle image carries it."""
    pkg = PACKAGES[package_name]
    version = entry["version"]
    labels = {"operatorframework.io/arch.amd64": "supported", "operatorframework.io/os.linux": "supported"}
    images = {
        "kubevirt-hyperconverged":
            "registry.redhat.io/container-native-virtualization/hyperconverged-cluster-operator-rhel9",
        "mtv-operator": "registry.redhat.io/migration-toolkit-virtualization/mtv-rhel9-operator",
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
        "minKubeVersion": "1.33.0",
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
        "customresourcedefinitions": {"owned": pkg["owned"]},
        "relatedImages": [{"name": "operator", "image": f"{images}:v{version}"}],
    }
    if pkg["webhooks"]:
        spec["webhookdefinitions"] = pkg["webhooks"]
    if entry.get("replaces"):
        spec["replaces"] = entry["replaces"]
    if entry.get("skips"):
        spec["skips"] = list(entry["skips"])
    return {"spec": spec, "labels": labels,
            "annotations": {"olm.skipRange": f">={major_minor}.0 <{version}",
                            "operators.openshift.io/valid-subscription":
                                '["OpenShift Kubernetes Engine", "OpenShift Container Platform", '
                                '"OpenShift Platform Plus"]',
                            "capabilities": "Deep Insights", "categories": "OpenShift Optional"}}


def newest(package_name: str, channel: str):
    entries = channel_entries(package_name, channel)
    return max(entries, key=lambda e: _version_tuple(e["version"])) if entries else None
