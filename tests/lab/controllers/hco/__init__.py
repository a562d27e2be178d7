"""Simulated HyperConverged Cluster Operator (HCO v1.18 as OpenShift Virtualization 4.21 ships it).

- Runs where OLM installed it: a HyperConverged is reconciled only when it is named
  `kubevirt-hyperconverged` and its namespace holds a Succeeded `kubevirt-hyperconverged`
  ClusterServiceVersion. Other names are refused by the API server itself (the upstream CRD
  carries `metadata.name` pattern `kubevirt-hyperconverged`).
- The namespace rule is HCO's ValidatingAdmissionPolicy `hyperconverged-namespace-policy` and
  its binding (controllers/admissionpolicy at v1.18.1): real objects the lab's kube-apiserver
  enforces, owned by the HyperConverged CRD, naming the operator's namespace; on CREATE of a
  HyperConverged anywhere else the API server answers "HyperConverged CR can only be created in
  the '<namespace>' namespace.". Upstream every running HCO writes its own namespace into it;
  with several HCOs the lab keeps the oldest Succeeded CSV's.
- HCO's validating webhook (pkg/webhooks/validator/v1beta1_validator.go; installed by OLM from
  the CSV, so scoped by the OperatorGroup as OLM scopes it): on CREATE and UPDATE the certConfig,
  dataImportCronTemplates, TLS profile and mediated-device checks, the feature-gate and
  tuning-policy warnings (a warning ends the validation, as upstream), the operands' build
  (tuning-policy annotation); on an UPDATE that changes the spec or the annotations, a dry-run
  update of the KubeVirt and the CDI with the spec HCO would give them (upstream also of the
  NetworkAddonsConfig and the SSP, which the lab does not run). On DELETE, dry-run deletions of
  the KubeVirt, then of the CDI; their own webhooks answer, and their refusal is passed on:
  virt-operator's while VMIs/VMs/VMIRSs exist, cdi-apiserver's while DataVolumes exist that
  carry no `cdi.kubevirt.io/dataImportCron` label — both only under
  BlockUninstallIfWorkloadsExist; with the HyperConverged's `uninstallStrategy: RemoveWorkloads`,
  once HCO has handed it to the KubeVirt and the CDI, neither checks anything.
- Creates and keeps the operands: KubeVirt `kubevirt-kubevirt-hyperconverged` (owned by the
  HyperConverged), CDI `cdi-kubevirt-hyperconverged` (cluster scoped), and the common boot
  sources (DataImportCrons + DataSources in `openshift-virtualization-os-images`, as SSP
  does for HCO) unless `enableCommonBootImageImport` is false. Their volumes are CDI's job
  (the storage simulation): the DataImportCron template names no storage class, so CDI
  picks the default virt class, else the cluster default, unless the template says otherwise.
- Spec honoured by handing it to the operands as HCO does: featureGates, liveMigrationConfig,
  evictionStrategy (defaulted to LiveMigrate on a multi-node cluster), infra/workloads
  nodePlacement, storageImport.insecureRegistries, scratchSpaceStorageClass, uninstallStrategy,
  dataImportCronTemplates, enableCommonBootImageImport.
- Status: Progressing while operands come up, then Available / ReconcileComplete True with
  Degraded False and Upgradeable True, `versions` (the CSV version), relatedObjects, nodeInfo.
- Deleting the HyperConverged removes what it created (finalizer `kubevirt.io/hyperconverged`).

The cdi-operator part (CDI CR -> Deployed) lives here too, written only while the CDI CR has
no phase, so a fuller CDI simulation can own it; so does cdi-apiserver's `cdi-api-validate`
webhook (DELETE of the CDI CR, pkg/apiserver/webhooks/cdi-validate.go), registered while the CDI
CR is Deployed and removed with it.

Modules: `operands` (what HCO makes of a HyperConverged, and where it runs), `reconcile` (the
HyperConverged controller), `policy` (the namespace policy), `webhook` (the validating
webhook), `cdi` (cdi-operator's and cdi-apiserver's part).
"""

from lab.controllers.hco import cdi
from lab.controllers.hco.operands import CDI, CSV, DIC, HC, HCO_NAME, KUBEVIRT, OS_IMAGES, WEBHOOK_PATH
from lab.controllers.hco.policy import (POLICY, POLICY_BINDING, POLICY_BINDING_NAME, POLICY_NAME,
                                        ensure_admission_policy, reconcile_policy)
from lab.controllers.hco.reconcile import reconcile_hyperconverged
from lab.controllers.hco.webhook import make_webhook
from lab.controllers.runtime import Controller, Watch, log, owner_keys


def setup(manager, webhooks):
    api = manager.api
    webhooks.route(WEBHOOK_PATH, make_webhook(api))
    cdi.setup_webhook(api, webhooks)

    def hc_of_namespace(obj):
        return [(obj["metadata"]["namespace"], HCO_NAME)]

    def hcs_for_cdi(obj):
        namespace = (obj["metadata"].get("labels") or {}).get("hco.kubevirt.io/owner-namespace")
        return [(namespace, HCO_NAME)] if namespace else []

    def hcs_for_boot_source(obj):
        try:
            return [(h["metadata"]["namespace"], h["metadata"]["name"]) for h in api.list(*HC)]
        except Exception:
            return []

    manager.add(Controller("hco", *HC, reconcile_hyperconverged, resync_seconds=30, watches=[
        Watch(*KUBEVIRT, owner_keys("HyperConverged")), Watch(*CDI, hcs_for_cdi),
        Watch(*CSV, hc_of_namespace), Watch(*DIC, hcs_for_boot_source, namespace=OS_IMAGES)]))
    manager.add(Controller("cdi-operator", *CDI, cdi.reconcile_cdi, gone=cdi.cdi_gone))
    manager.add(Controller("hco-admission-policy", *POLICY, reconcile_policy,
                           gone=lambda api_, key: ensure_admission_policy(api_) if key[1] == POLICY_NAME else None,
                           watches=[Watch(*CSV, lambda o: [(None, POLICY_NAME)]),
                                    Watch(*POLICY_BINDING, lambda o: [(None, POLICY_NAME)]
                                          if o["metadata"]["name"] == POLICY_BINDING_NAME else [])]))
    log.info("hco: webhook at %s", webhooks.url(WEBHOOK_PATH))
