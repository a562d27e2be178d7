"""The catalog operator's CatalogSource side: `redhat-operators` exists and is READY."""

import time

from lab import catalog
from lab.controllers.olm.kinds import OPERATORS_V1A1
from lab.controllers.runtime import log, now


# --- catalog ---------------------------------------------------------------------------------

def _catalog_source() -> dict:
    return {
        "apiVersion": OPERATORS_V1A1, "kind": "CatalogSource",
        "metadata": {"name": catalog.CATALOG_NAME, "namespace": catalog.CATALOG_NAMESPACE,
                     "annotations": {"operatorframework.io/managed-by": "marketplace-operator",
                                     "target.workload.openshift.io/management":
                                         '{"effect": "PreferredDuringScheduling"}'},
                     "labels": {"olm.catalogSource": catalog.CATALOG_NAME}},
        "spec": {"sourceType": "grpc", "image": catalog.CATALOG_IMAGE,
                 "displayName": "Red Hat Operators", "publisher": "Red Hat", "priority": -100,
                 "updateStrategy": {"registryPoll": {"interval": "10m"}},
                 "grpcPodConfig": {"securityContextConfig": "restricted",
                                   "nodeSelector": {"kubernetes.io/os": "linux",
                                                    "node-role.kubernetes.io/master": ""}}},
    }


def ensure_catalog(api) -> None:
    """Create the CatalogSource at start (retrying while the API server is not answering)."""
    for attempt in range(120):
        try:
            api.create_if_absent(_catalog_source())
            return
        except Exception as error:  # the API may still be starting
            log.info("olm: creating CatalogSource failed (%s); retrying", error)
            time.sleep(min(0.5 * (attempt + 1), 5))


def reconcile_catalog_source(api, source: dict):
    meta = source["metadata"]
    served = meta["name"] == catalog.CATALOG_NAME and meta["namespace"] == catalog.CATALOG_NAMESPACE
    state = ((source.get("status") or {}).get("connectionState") or {}).get("lastObservedState")
    wanted = "READY" if served else "TRANSIENT_FAILURE"
    if state == wanted:
        return None
    address = f"{meta['name']}.{meta['namespace']}.svc:50051"
    status = {"connectionState": {"address": address, "lastConnect": now(), "lastObservedState": wanted},
              "registryService": {"createdAt": now(), "port": "50051", "protocol": "grpc",
                                  "serviceName": meta["name"], "serviceNamespace": meta["namespace"]}}
    if served:
        status["latestImageRegistryPoll"] = now()
    else:
        status["message"] = f"couldn't connect to registry {meta['name']}: image could not be pulled in the lab"
        status["reason"] = "RegistryServerError"
    api.patch_status(source, status)
    return None
