"""NetworkMap and StorageMap validation (pkg/controller/map/{network,storage}/{controller,validation}.go,
pkg/controller/validation/provider.go `ProviderPair` at v2.12.5).

Each reconcile stages: the provider pair (Source/DestinationProviderNotValid NotSet/NotFound,
…NotReady without the Ready condition, a non-openshift destination TypeNotValid); then each
source reference against the source inventory (NotSet Critical, NotFound Warn, Ambiguous
Critical) and each destination (a NAD `namespace/name`, a namespace required; a StorageClass);
`Ready` without blockers; `status.references`, `observedGeneration`.
"""

from lab.controllers.forklift import inventory as inv
from lab.controllers.forklift.conditions import CRITICAL, REQUIRED, WARN, Staged
from lab.controllers.forklift.kinds import NAD, PROVIDER, STORAGE_CLASS
from lab.controllers.forklift.operator import current_settings


def ref_string(ref: dict) -> str:
    kind = f"({ref['type']})" if ref.get("type") else ""
    return f"{kind} id:{ref.get('id', '')} name:'{ref.get('name', '')}' "


def _provider(api, conditions: Staged, ref: dict, role: str):
    """validation.Provider.Validate, remapped to the source or destination side."""
    prefix = "Source" if role == "source" else "Destination"
    if not ref or not ref.get("name") or not ref.get("namespace"):
        conditions.set(f"{prefix}ProviderNotValid", CRITICAL, f"The {role} provider is not valid.", reason="NotSet")
        return None
    provider = api.get(*PROVIDER, ref["name"], ref["namespace"])
    if provider is None:
        conditions.set(f"{prefix}ProviderNotValid", CRITICAL, f"The {role} provider is not valid.", reason="NotFound")
        return None
    if not any(c["type"] == "Ready" for c in (provider.get("status") or {}).get("conditions") or []):
        conditions.set(f"{prefix}ProviderNotReady", CRITICAL,
                       f"The {role} provider does not have the Ready condition.")
    if role == "destination" and provider["spec"].get("type") != "openshift":
        conditions.set("DestinationProviderNotValid", CRITICAL, "The destination provider is not valid.",
                       reason="TypeNotValid")
    return provider


def providers_valid(api, conditions: Staged, mp: dict):
    pair = mp["spec"].get("provider") or {}
    source = _provider(api, conditions, pair.get("source"), "source")
    _provider(api, conditions, pair.get("destination"), "destination")
    blocked = any(conditions.get(f"{side}Provider{state}") for side in ("Source", "Destination")
                  for state in ("NotValid", "NotReady"))
    return None if blocked else source


def _sources(conditions: Staged, collector, mp: dict, kind: str, what: str) -> list:
    """Each map entry's source against the inventory; returns the resolved references."""
    not_found, ambiguous, references = [], [], []
    for entry in mp["spec"].get("map") or []:
        ref = entry.get("source") or {}
        if not ref.get("id") and not ref.get("name"):
            conditions.set(f"Source{what}NotValid", CRITICAL, f"Source {what.lower()}: either `ID` or `Name` required.",
                           reason="NotSet")
            continue
        try:
            found = inv.find(collector, kind, ref)
        except inv.NotFound:
            not_found.append(ref_string(ref))
            continue
        except inv.NotUnique:
            ambiguous.append(ref_string(ref))
            continue
        resolved = {**ref, "id": found["id"], "name": found["name"]}  # the Finder resolves the ref in place
        if resolved not in references:
            references.append(resolved)
    if not_found:
        conditions.set(f"Source{what}NotValid", WARN, f"Source {what.lower()} not found.", reason="NotFound",
                       items=not_found)
    if ambiguous:
        conditions.set(f"Source{what}NotValid", CRITICAL, f"Source {what.lower()} has ambiguous ref.",
                       reason="Ambiguous", items=ambiguous)
    return references


def _network_destinations(api, conditions: Staged, mp: dict) -> None:
    not_found, ambiguous = [], []
    for entry in mp["spec"].get("map") or []:
        destination = entry.get("destination") or {}
        if destination.get("type") != "multus":
            continue
        name = "/".join(filter(None, (destination.get("namespace"), destination.get("name"))))
        if not destination.get("namespace"):
            ambiguous.append(name)
        elif api.get(*NAD, destination.get("name"), destination["namespace"]) is None:
            not_found.append(name)
    if not_found:
        conditions.set("DestinationNetworkNotValid", CRITICAL, "Destination network (NAD) not found.",
                       reason="NotFound", items=not_found)
    if ambiguous:
        conditions.set("DestinationNetworkNotValid", CRITICAL, "Destination network (NAD) namespace required.",
                       reason="Ambiguous", items=ambiguous)


def _storage_destinations(api, conditions: Staged, mp: dict) -> None:
    missing = [entry["destination"]["storageClass"] for entry in mp["spec"].get("map") or []
               if api.get(*STORAGE_CLASS, entry["destination"]["storageClass"]) is None]
    if missing:
        conditions.set("DestinationStorageNotValid", CRITICAL, "Destination storage not valid.", reason="NotFound",
                       items=missing)


def make_reconcile(collectors, kind: str):
    """The NetworkMap (kind "networks") or StorageMap (kind "datastores") reconcile."""
    what, noun = ("Network", "network") if kind == "networks" else ("Storage", "storage")

    def reconcile_map(api, mp: dict):
        if current_settings(api) is None:
            return 10.0
        conditions = Staged((mp.get("status") or {}).get("conditions"))
        source = providers_valid(api, conditions, mp)
        references = None
        if source is not None:
            collector = collectors.get(source)
            if collector is None or not collector.has_parity():
                return 3.0  # the inventory answers 206 until loaded: upstream's reconcile errs and retries
            references = _sources(conditions, collector, mp, kind, what)
            (_network_destinations if kind == "networks" else _storage_destinations)(api, conditions, mp)
        if not conditions.has_blocker():
            conditions.set("Ready", REQUIRED, f"The {noun} map is ready.")
        status = {"conditions": conditions.result(), "observedGeneration": mp["metadata"].get("generation")}
        if references is not None:
            status["references"] = references
        api.patch_status(mp, status)
        return 30.0
    return reconcile_map
