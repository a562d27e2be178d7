"""The API server's aggregation layer: a front-proxy CA of its own, published for aggregated API servers."""

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lab import components


def test_the_request_header_settings_are_published_for_aggregated_servers(core_v1, lab):
    """Kubernetes v1.34 pkg/controlplane/controller/clusterauthenticationtrust: kube-apiserver publishes its
    --requestheader-* settings in kube-system/extension-apiserver-authentication, where aggregated servers
    (virt-api's readRequestHeader, KubeVirt v1.8.4 pkg/virt-api/api.go) read the CA and header names."""
    data = core_v1.read_namespaced_config_map("extension-apiserver-authentication", "kube-system").data
    front_proxy_ca = data["requestheader-client-ca-file"]
    assert front_proxy_ca.strip() and front_proxy_ca.strip() != data["client-ca-file"].strip()
    assert front_proxy_ca == lab.path("pki", "front-proxy", "ca.crt").read_text()
    assert json.loads(data["requestheader-allowed-names"]) == [components.FRONT_PROXY_CLIENT]
    assert json.loads(data["requestheader-username-headers"]) == ["X-Remote-User"]
    assert json.loads(data["requestheader-group-headers"]) == ["X-Remote-Group"]
    assert json.loads(data["requestheader-extra-headers-prefix"]) == ["X-Remote-Extra-"]


def test_a_user_cert_cannot_pose_as_the_front_proxy(user_client):
    """Kubernetes v1.34 staging/src/k8s.io/apiserver/pkg/authentication/request/headerrequest: X-Remote-*
    headers count only on a connection whose client cert the request-header CA signed (and whose name is
    allowed); a user's cert of the client CA stays that user, whatever headers it sends."""
    api = user_client("header-poser")
    api.set_default_header("X-Remote-User", "admin")
    api.set_default_header("X-Remote-Group", "system:masters")
    with pytest.raises(ApiException) as refused:
        client.CoreV1Api(api).list_namespace()
    assert refused.value.status == 403
    assert 'User "header-poser" cannot list resource "namespaces"' in json.loads(refused.value.body)["message"]
