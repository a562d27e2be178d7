#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: trident_backend
short_description: Manage a Trident backend for ONTAP and its credentials Secret
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Creates, updates or deletes a Trident C(TridentBackendConfig) for an ONTAP SVM together with the
    Secret that holds its credentials, in Trident's namespace.
  - Supports the ONTAP drivers C(ontap-nas), C(ontap-nas-economy), C(ontap-nas-flexgroup), C(ontap-san) (over
    iSCSI, NVMe/TCP or FC) and C(ontap-san-economy).
  - The credentials Secret is the collection's own, labelled C(app.kubernetes.io/managed-by=ontap.virtualization).
    An existing Secret of that name made by someone else is never overwritten, and the module deletes its own
    Secret with the last backend that uses it.
  - Checks the backend configuration the way Trident does before anything is written, and refuses to change
    a field Trident cannot change on an existing backend.
  - Waits until Trident reports the backend C(Bound) with C(lastOperationStatus=Success), or fails with
    Trident's own message.
  - The credentials are written only to the Secret and never appear in the result or the diff.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
options:
  name:
    description:
      - Name of the C(TridentBackendConfig). Also the Trident backend name unless O(backend_name) is set.
    type: str
    required: true
  namespace:
    description:
      - Trident's namespace. Trident only reads backends and their Secrets there.
    type: str
    default: trident
  state:
    description:
      - V(present) creates or updates the backend, V(absent) deletes it.
      - With V(absent) the backend's deletion policy decides whether Trident also removes the backend
        (V(delete)) or keeps it (V(retain)); set O(deletion_policy) to change it before the deletion.
    type: str
    choices: [present, absent]
    default: present
  storage_driver:
    description:
      - The Trident storage driver. Required with O(state=present).
    type: str
    choices: [ontap-nas, ontap-nas-economy, ontap-nas-flexgroup, ontap-san, ontap-san-economy]
  san_type:
    description:
      - The SAN protocol of an C(ontap-san) backend. C(ontap-san-economy) supports only V(iscsi).
      - Live migration of VMs needs volumes in Block mode with ReadWriteMany on SAN backends.
    type: str
    choices: [iscsi, nvme, fcp]
  backend_name:
    description:
      - Name of the backend inside Trident. Defaults to O(name).
    type: str
  management_lif:
    description:
      - Management address of the cluster or of the SVM (C(host) or C(host:port)). Required with O(state=present).
      - With an SVM-scoped account such as C(vsadmin) this must be the SVM management LIF.
    type: str
  data_lif:
    description:
      - NFS data LIF of a NAS backend. Leave it out for iSCSI backends, which discover their LIFs.
    type: str
  svm:
    description:
      - The SVM that holds the backend's volumes. Trident cannot move a backend to another SVM.
    type: str
  username:
    description:
      - ONTAP account Trident logs in with. Stored in the credentials Secret.
      - When O(username) and O(password) are left out, the Secret O(credentials_secret) must already exist.
    type: str
  password:
    description:
      - Password of O(username). Stored in the credentials Secret only.
    type: str
  credentials_secret:
    description:
      - Name of the Secret holding the credentials. Defaults to C(<name>-credentials).
      - The module manages this Secret when O(username) and O(password) are given.
    type: str
  storage_prefix:
    description:
      - Prefix of the ONTAP volumes Trident creates (Trident's default is C(trident)). Cannot change later.
    type: str
  limit_volume_size:
    description:
      - Largest volume Trident may create on this backend, for example V(500Gi).
    type: str
  use_rest:
    description:
      - Whether Trident talks to ONTAP over REST. NVMe/TCP backends need REST.
    type: bool
  defaults:
    description:
      - Defaults for the volumes Trident creates, for example C(spaceReserve), C(snapshotPolicy),
        C(snapshotReserve), C(exportPolicy). Values are passed to Trident as strings.
    type: dict
  deletion_policy:
    description:
      - What Trident does with the backend when this object is deleted.
      - With O(state=present) it defaults to V(delete). With O(state=absent) the backend's current policy is kept
        unless this option is given.
      - With O(state=absent), a backend that still has volumes is not deleted (Trident would keep it in
        C(Deleting) until the last volume goes); V(retain) removes the TridentBackendConfig and leaves the
        backend and its volumes to Trident.
    type: str
    choices: [delete, retain]
  config:
    description:
      - Any other key of Trident's backend configuration, for example C(labels), C(storage) (virtual pools),
        C(autoExportPolicy), C(autoExportCIDRs) or C(nfsMountOptions).
      - Keys that have an option of their own must be given through that option; credentials are refused here.
    type: dict
    default: {}
  check_ontap:
    description:
      - Before anything is written, read ONTAP through its REST API with the backend's own account and check what
        Trident will check. The account must log in, the SVM must exist with the protocol enabled and a data LIF
        that is up for it, and O(data_lif) must be one of those LIFs.
      - Like Trident without C(trustedCACertificate), the check does not verify ONTAP's certificate.
      - Set V(false) when the host Ansible runs on cannot reach the management LIF (Trident, in the cluster, still can).
    type: bool
    default: true
attributes:
  check_mode:
    details: Writes are sent as server-side dry runs; the module does not wait in check mode.
  diff_mode:
    details: Secret values are shown only as C(<hidden>) or C(<hidden, changed>).
notes:
  - Trident must be installed (its CRDs present); see the C(prerequisites) role for the checks it runs first.
"""

EXAMPLES = r"""
# The examples take the ONTAP address and accounts from variables (the tests run them against the lab with the
# lab's values): ontap_management_lif, ontap_data_lif, ontap_svm, ontap_username, ontap_password.
- name: An iSCSI backend on the VM SVM
  ontap.virtualization.trident_backend:
    name: ontap-san-iscsi
    storage_driver: ontap-san
    san_type: iscsi
    management_lif: "{{ ontap_management_lif }}"
    svm: "{{ ontap_svm }}"
    username: "{{ ontap_username }}"
    password: "{{ ontap_password }}"
    defaults:
      spaceReserve: none
      snapshotReserve: 0

- name: An NFS backend that keeps its volumes when the backend object is deleted
  ontap.virtualization.trident_backend:
    name: ontap-nas
    storage_driver: ontap-nas
    management_lif: "{{ ontap_management_lif }}"
    data_lif: "{{ ontap_data_lif }}"
    svm: "{{ ontap_svm }}"
    username: "{{ ontap_username }}"
    password: "{{ ontap_password }}"
    deletion_policy: retain
    config:
      autoExportPolicy: true
      autoExportCIDRs: [127.0.0.0/8]

- name: Remove a backend
  ontap.virtualization.trident_backend:
    name: ontap-nas
    state: absent
"""

RETURN = r"""
name:
  description: Name of the TridentBackendConfig.
  returned: always
  type: str
  sample: ontap-san-iscsi
backend_name:
  description: Name of the backend in Trident.
  returned: when Trident has bound the backend
  type: str
  sample: ontap-san-iscsi
backend_uuid:
  description: UUID Trident gave the backend.
  returned: when Trident has bound the backend
  type: str
  sample: 5a0b7b8e-3c5f-4f59-9a55-0d1f2b3c4d5e
phase:
  description: Phase of the backend (C(Bound), C(Deleting), ...); empty while Trident has not bound it.
  returned: with state=present
  type: str
  sample: Bound
last_operation_status:
  description: Outcome of Trident's last operation on the backend (C(Success) or C(Failed)).
  returned: with state=present
  type: str
  sample: Success
message:
  description: Trident's message about its last operation.
  returned: with state=present
  type: str
  sample: Backend 'ontap-san-iscsi' created
credentials_secret:
  description: Name of the Secret with the credentials.
  returned: always
  type: str
  sample: ontap-san-iscsi-credentials
resource:
  description: The TridentBackendConfig as the cluster holds it (after the wait).
  returned: with state=present
  type: dict
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
  sample: [created Secret trident/ontap-nas-credentials, created TridentBackendConfig trident/ontap-nas]
diff:
  description: Before and after of the managed fields of every object the run changed (Secret values hidden).
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import ontap, trident
from ansible_collections.ontap.virtualization.plugins.module_utils import trident_backends as backends
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule
from ansible_collections.ontap.virtualization.plugins.module_utils.names import dns1123_subdomain_error

# The options that map to a backend key; `config` may not set these keys itself.
OPTION_KEYS = {
    "storage_driver": "storageDriverName", "san_type": "sanType", "backend_name": "backendName",
    "management_lif": "managementLIF", "data_lif": "dataLIF", "svm": "svm", "storage_prefix": "storagePrefix",
    "limit_volume_size": "limitVolumeSize", "use_rest": "useREST", "defaults": "defaults",
    "deletion_policy": "deletionPolicy",
}

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str", default=trident.DEFAULT_NAMESPACE),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    storage_driver=dict(type="str", choices=list(trident.DRIVERS)),
    san_type=dict(type="str", choices=list(trident.SAN_TYPES)),
    backend_name=dict(type="str"),
    management_lif=dict(type="str"),
    data_lif=dict(type="str"),
    svm=dict(type="str"),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    credentials_secret=dict(type="str", no_log=False),
    storage_prefix=dict(type="str"),
    limit_volume_size=dict(type="str"),
    use_rest=dict(type="bool"),
    defaults=dict(type="dict"),
    deletion_policy=dict(type="str", choices=["delete", "retain"]),
    config=dict(type="dict", default={}),
    check_ontap=dict(type="bool", default=True),
)
REQUIRED_IF = [("state", "present", ["storage_driver", "management_lif"])]
REQUIRED_TOGETHER = [("username", "password")]


def desired_backend(params, secret_name):
    params = dict(params, deletion_policy=params["deletion_policy"] or "delete")
    conflicts = sorted(option for option, key in OPTION_KEYS.items() if key in params["config"])
    if conflicts:
        raise ModuleError("config sets {0}; use the option{1} {2} instead".format(
            ", ".join(OPTION_KEYS[o] for o in conflicts), "s" if len(conflicts) > 1 else "", ", ".join(conflicts)))
    if "credentials" in params["config"]:
        raise ModuleError("config must not set credentials: use credentials_secret, or username and password")
    spec = {"version": 1, "credentials": {"name": secret_name, "type": "secret"},
            "backendName": params["backend_name"] or params["name"]}
    for option, key in OPTION_KEYS.items():
        value = params.get(option)
        if value is None or option == "backend_name":
            continue
        if option == "defaults":
            value = dict((k, trident.as_trident_string(v)) for k, v in value.items())
        spec[key] = value
    spec.update(params["config"])
    problems = trident.backend_problems(spec)
    if problems:
        raise ModuleError("The backend configuration would be refused by Trident: {0}.".format("; ".join(problems)))
    return {"apiVersion": trident.TBC_API_VERSION, "kind": "TridentBackendConfig",
            "metadata": {"name": params["name"], "namespace": params["namespace"]}, "spec": spec}


def validate(module):
    """The checks that span several options (the argument spec declares the rest)."""
    params = module.params
    error = dns1123_subdomain_error(params["name"])
    if error:
        raise ModuleError("name: {0}".format(error))
    if params["state"] == "absent":
        return
    try:
        ontap.parse_management_lif(params["management_lif"])
    except ValueError as exc:
        raise ModuleError(str(exc))
    if params["san_type"] and not trident.is_san(params["storage_driver"]):
        raise ModuleError("san_type applies only to the ontap-san drivers, not to {0}".format(params["storage_driver"]))
    if params["data_lif"] and trident.is_san(params["storage_driver"]) and params["san_type"] in (None, "iscsi"):
        module.warn("data_lif is ignored by iSCSI backends: Trident discovers the iSCSI LIFs (Selective LUN Map)")


def run(module):
    validate(module)
    if module.params["state"] == "absent":
        return backends.absent(module)
    secret_name = backends.secret_name_of(module.params)
    return backends.present(module, desired_backend(module.params, secret_name), secret_name)


def main():
    KubeModule(ARGUMENT_SPEC, required_if=REQUIRED_IF, required_together=REQUIRED_TOGETHER).run(run)


if __name__ == "__main__":
    main()
