"""Where a secret given to the collection must never show: the run's output (at -vvvv, with --diff, which
includes every task's result), the bodies the automation wrote to the API server for any object but a Secret
(the audit log), and the cluster's events. Each secret is looked for as given and base64-encoded.
"""

import base64
import json


def forms(secret: str) -> set:
    encoded = base64.b64encode(secret.encode()).decode()
    return {secret, encoded, encoded.rstrip("=")}


def written_bodies(audit, mark) -> list:
    """(object, request body text) of every write since ``mark`` to anything but a Secret."""
    return [("{0} {1}/{2}".format(entry["objectRef"].get("resource"), entry["objectRef"].get("namespace", ""),
                                  entry["objectRef"].get("name", "")), json.dumps(entry.get("requestObject", {})))
            for entry in audit.writes_since(mark) if entry["objectRef"].get("resource") != "secrets"]


def event_texts(core_v1) -> list:
    return [("event {0}/{1}".format(event.metadata.namespace, event.metadata.name),
             " ".join(filter(None, (event.message, event.reason, event.note if hasattr(event, "note") else None))))
            for event in core_v1.list_event_for_all_namespaces().items]


def leaks(secrets, output: str, audit, mark, core_v1) -> list:
    """Every place a secret shows, as (where, which secret); an empty list when none does."""
    places = [("output", output)] + written_bodies(audit, mark) + event_texts(core_v1)
    return [(where, secret[:3] + "...") for secret in secrets for where, text in places
            if any(form in text for form in forms(secret))]
