"""What the lab runs, in start order: the one table later lab parts add a line to.

A `Service` is a detached process with a readiness check and the vars it contributes;
a `Step` is work done in-process between services (installing CRDs and seed objects).
Each gets the `Lab` being started: its ports, paths, CA and vars.
"""

import json
import secrets
import ssl
import sys
import urllib.request
from dataclasses import dataclass
from typing import Callable

from kubernetes import client

from lab import build, kubeconfig, paths, pki, seed, vcsim_inventory
from lab.state import LOOPBACK, Lab


@dataclass(frozen=True)
class Service:
    name: str
    command: Callable  # (Lab) -> argv; may write the files the process needs
    ready: Callable  # (Lab) -> truthy once it serves
    vars: Callable = lambda lab: {}  # (Lab) -> vars merged into the lab vars once ready
    enabled: Callable = lambda: True


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable  # (Lab) -> None
    enabled: Callable = lambda: True


def _https_get(lab: Lab, url: str) -> bytes:
    context = ssl.create_default_context(cafile=str(lab.ca.cert_path))
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        return response.read()


def _package_present(name: str) -> Callable:
    return lambda: (paths.LAB_DIR / name / "__main__.py").exists()


# --- etcd ------------------------------------------------------------------------------------

def _etcd_command(lab: Lab) -> list:
    client_url = f"http://{LOOPBACK}:{lab.port('etcd')}"
    peer = f"http://{LOOPBACK}:{lab.port('etcd-peer')}"
    return [
        build.binary("etcd", "etcd"),
        "--name=lab", f"--data-dir={lab.path('etcd')}",
        f"--listen-client-urls={client_url}", f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=lab={peer}",
        "--unsafe-no-fsync=true",  # a throw-away store: durability costs seconds per start
        "--auto-compaction-retention=1", "--quota-backend-bytes=4294967296",
        "--log-level=warn",
    ]


def _etcd_ready(lab: Lab) -> bool:
    url = f"http://{LOOPBACK}:{lab.port('etcd')}/health"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response).get("health") == "true"


# --- kube-apiserver --------------------------------------------------------------------------

def _apiserver_command(lab: Lab) -> list:
    port = lab.port("kube-apiserver")
    serving = lab.ca.issue("kube-apiserver", "kube-apiserver", hosts=(
        *pki.LOOPBACK_NAMES, "10.0.0.1", "kubernetes", "kubernetes.default",
        "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"))
    service_accounts = pki.signing_key_pair(lab.ca.directory, "service-account")
    admin = lab.ca.issue("admin", "admin", organizations=("system:masters",))
    kubeconfig.write(lab.kubeconfig, lab.api_url, lab.ca, "admin", admin)
    return [
        build.binary("kubernetes", "kube-apiserver"),
        f"--etcd-servers=http://{LOOPBACK}:{lab.port('etcd')}",
        f"--bind-address={LOOPBACK}", f"--advertise-address={LOOPBACK}", f"--secure-port={port}",
        f"--tls-cert-file={serving.cert}", f"--tls-private-key-file={serving.key}",
        f"--client-ca-file={lab.ca.cert_path}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer={lab.api_url}",
        f"--service-account-key-file={service_accounts.cert}",
        f"--service-account-signing-key-file={service_accounts.key}",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        # It taints new nodes not-ready for the node lifecycle controller to lift once a kubelet
        # reports; the lab has neither, and seeds its nodes Ready.
        "--disable-admission-plugins=TaintNodesByCondition",
        # A 127.0.0.1 endpoint fails Endpoints validation for the `kubernetes` service.
        "--endpoint-reconciler-type=none",
        # Cheaper on 2 cores, as kwokctl runs it.
        "--enable-priority-and-fairness=false",
        "--max-requests-inflight=0", "--max-mutating-requests-inflight=0",
        "--profiling=false",
        f"--audit-policy-file={paths.LAB_DIR / 'audit-policy.yaml'}",
        f"--audit-log-path={lab.audit_log}", "--audit-log-format=json",
        "--audit-log-maxbackup=0", "--audit-log-maxsize=0",
        *_aggregation_flags(lab),
    ]


FRONT_PROXY_CLIENT = "front-proxy-client"


def _aggregation_flags(lab: Lab) -> list:
    """The aggregation layer, as kubeadm sets it up: a front-proxy CA of its own (so no user's
    client cert can pose as the proxy), whose client cert the API server presents to aggregated
    API servers, naming the user in X-Remote-* headers."""
    front_proxy = pki.CA.create(lab.path("pki", "front-proxy"))
    proxy_client = front_proxy.issue(FRONT_PROXY_CLIENT, FRONT_PROXY_CLIENT)
    return [
        f"--requestheader-client-ca-file={front_proxy.cert_path}",
        f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={proxy_client.cert}", f"--proxy-client-key-file={proxy_client.key}",
    ]


def _apiserver_ready(lab: Lab) -> bool:
    return _https_get(lab, f"{lab.api_url}/readyz") == b"ok"


def _apiserver_vars(lab: Lab) -> dict:
    return {"k8s_api_url": lab.api_url, "kubeconfig": str(lab.kubeconfig),
            "ca_cert": str(lab.ca.cert_path)}


# --- kube-controller-manager -----------------------------------------------------------------

KCM_CONTROLLERS = (
    "namespace-controller", "garbage-collector-controller",
    "persistentvolume-binder-controller", "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller",
    "serviceaccount-controller", "serviceaccount-token-controller",
    # Cheap, and what RBAC and namespaces look like on a real cluster: aggregated
    # admin/edit/view roles and a kube-root-ca.crt ConfigMap in every namespace.
    "clusterrole-aggregation-controller", "root-ca-certificate-publisher-controller",
)


def _kcm_command(lab: Lab) -> list:
    identity = lab.ca.issue("kube-controller-manager", "system:kube-controller-manager")
    config = kubeconfig.write(lab.path("pki", "kube-controller-manager.kubeconfig"), lab.api_url,
                              lab.ca, "system:kube-controller-manager", identity)
    return [
        build.binary("kubernetes", "kube-controller-manager"),
        f"--kubeconfig={config}",
        f"--bind-address={LOOPBACK}", "--secure-port=0",  # no metrics or health endpoint needed
        f"--controllers={','.join(KCM_CONTROLLERS)}",
        "--leader-elect=false",
        # Each controller acts as its own service account with the upstream RBAC roles.
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={lab.path('pki', 'service-account.key')}",
        f"--root-ca-file={lab.ca.cert_path}",
    ]


def _kcm_ready(lab: Lab) -> bool:
    # The serviceaccount controller gives every namespace its `default` account.
    with kubeconfig.api_client(lab.kubeconfig) as api:
        return client.CoreV1Api(api).read_namespaced_service_account("default", "default")


# --- vcsim -----------------------------------------------------------------------------------

def _vcsim_command(lab: Lab) -> list:
    serving = lab.ca.issue("vcsim", "vcsim", hosts=pki.LOOPBACK_NAMES)
    lab.vars.update(vcsim_username="lab", vcsim_password=secrets.token_urlsafe(12))
    return [
        build.binary("vcsim", "vcsim"),
        f"-l={LOOPBACK}:{lab.port('vcsim')}",
        f"-username={lab.vars['vcsim_username']}", f"-password={lab.vars['vcsim_password']}",
        f"-tlscert={serving.cert}", f"-tlskey={serving.key}",
    ]


def _vcsim_ready(lab: Lab) -> bool:
    return _https_get(lab, f"https://{LOOPBACK}:{lab.port('vcsim')}/about")


def _vcsim_vars(lab: Lab) -> dict:
    port = lab.port("vcsim")
    # The simulated Forklift's inventory service (lab.controllers.forklift) serves on this port.
    return {"vcsim_url": f"https://{LOOPBACK}:{port}/sdk", "vcsim_host": LOOPBACK,
            "vcsim_port": port,
            "forklift_inventory_url": f"https://{LOOPBACK}:{lab.port('forklift-inventory')}"}


# --- later lab parts: started when their package exists -------------------------------------

def _ontap_command(lab: Lab) -> list:
    serving = lab.ca.issue("ontap", "ontap", hosts=pki.LOOPBACK_NAMES)
    lab.path("ontap").mkdir(exist_ok=True)
    return [
        sys.executable, "-m", "lab.ontap", "serve",
        "--state-dir", lab.path("ontap"), "--listen", f"{LOOPBACK}:{lab.port('ontap')}",
        "--tls-cert", serving.cert, "--tls-key", serving.key, "--tls-ca", lab.ca.cert_path,
    ]


def _ontap_vars(lab: Lab) -> dict:
    return {"ontap": json.loads(lab.path("ontap", "endpoint.json").read_text())}


CONTROLLERS_READY_FILE = "controllers.ready"


def _controllers_command(lab: Lab) -> list:
    return [sys.executable, "-m", "lab.controllers",
            "--state-dir", lab.state_dir, "--kubeconfig", lab.kubeconfig,
            "--ready-file", lab.path(CONTROLLERS_READY_FILE)]


def controllers_ready(lab: Lab) -> bool:
    return lab.path(CONTROLLERS_READY_FILE).exists()


COMPONENTS = (
    Service("etcd", _etcd_command, _etcd_ready),
    Service("kube-apiserver", _apiserver_command, _apiserver_ready, _apiserver_vars),
    Step("seed", lambda lab: seed.run(lab.kubeconfig, lab.api_url)),
    Service("kube-controller-manager", _kcm_command, _kcm_ready),
    Service("vcsim", _vcsim_command, _vcsim_ready, _vcsim_vars),
    Step("vcsim-inventory", vcsim_inventory.seed),
    Service("ontap", _ontap_command, lambda lab: lab.path("ontap", "endpoint.json").exists(),
            _ontap_vars, enabled=_package_present("ontap")),
    Service("controllers", _controllers_command, controllers_ready,
            enabled=_package_present("controllers")),
)
