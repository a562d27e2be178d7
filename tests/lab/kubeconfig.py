"""Kubeconfig files for lab users, and Python clients built from them."""

import base64
from pathlib import Path

import yaml
from kubernetes import client, config

from lab import pki


def _b64(path: Path) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode()


def write(path: Path, server: str, ca: pki.CA, user: str, credentials: pki.KeyPair) -> Path:
    """A self-contained kubeconfig (certificates embedded) for one client-cert user."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "lab", "cluster": {
            "server": server, "certificate-authority-data": _b64(ca.cert_path)}}],
        "users": [{"name": user, "user": {
            "client-certificate-data": _b64(credentials.cert),
            "client-key-data": _b64(credentials.key)}}],
        "contexts": [{"name": user, "context": {"cluster": "lab", "user": user}}],
        "current-context": user,
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path


def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))
