"""Python admission webhooks, trusted by the API server through the lab CA."""

import json

import pytest
from kubernetes.client.exceptions import ApiException

from lab import procs, webhooks

NAME = "deny-forbidden-label.lab.ontap-virtualization.io"


def _deny_labelled(request):
    labels = request["object"]["metadata"].get("labels") or {}
    if labels.get("lab.test/forbidden") == "true":
        return webhooks.deny("configmaps labelled lab.test/forbidden=true are not allowed")
    return webhooks.allow()


@pytest.fixture
def deny_webhook(lab, api_client, namespace):
    with webhooks.WebhookServer(lab.ca, "test-webhooks") as server:
        server.route("/deny-labelled", _deny_labelled)
        webhooks.register(
            api_client, "Validating", NAME, server.url("/deny-labelled"), server.ca_bundle,
            rules=[webhooks.rule(["v1"], ["configmaps"])],
            namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": namespace}})
        yield
        webhooks.unregister(api_client, "Validating", NAME)


def test_validating_webhook_denies_with_its_message(core_v1, namespace, deny_webhook):
    attempts = iter(range(1000))

    def denied():
        # The API server picks up a new webhook configuration within moments; until then
        # creates pass, so each try uses a new name.
        body = {"metadata": {"name": f"forbidden-{next(attempts)}",
                             "labels": {"lab.test/forbidden": "true"}}}
        try:
            core_v1.create_namespaced_config_map(namespace, body)
        except ApiException as error:
            return error
        return None

    error = procs.wait_until(denied, "the webhook to deny", timeout=20)
    assert error.status == 403
    assert f'admission webhook "{NAME}" denied the request: ' \
        "configmaps labelled lab.test/forbidden=true are not allowed" \
        in json.loads(error.body)["message"]
    core_v1.create_namespaced_config_map(namespace, {"metadata": {"name": "allowed"}})
