# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Credential Secrets the collection owns: made from no_log options, marked as ours, removed with their owner.

A Secret carries the collection's managed-by label only when the collection made
it; one without the label belongs to someone else and is never overwritten or
deleted. Values reach the cluster only in the Secret: diffs show them as hidden.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, describe

MANAGED_BY = "app.kubernetes.io/managed-by"
COLLECTION = "ontap.virtualization"
MANAGED = ["type", "data", ("metadata", "labels", MANAGED_BY)]


def _b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def is_owned(secret):
    return ((secret or {}).get("metadata", {}).get("labels") or {}).get(MANAGED_BY) == COLLECTION


def ensure(module, namespace, name, values):
    """Create or update the collection's Secret ``namespace/name`` holding ``values`` (key -> text)."""
    ref = module.kube.ref("v1", "Secret", name, namespace)
    live = module.kube.get(ref)
    if live is not None and not is_owned(live):
        raise ModuleError("{0} exists and was not made by this collection (no label {1}={2}), so it is left as it is. "
                          "Give the credentials another Secret name, or leave them out to use this Secret.".format(
                              describe(ref), MANAGED_BY, COLLECTION))
    return module.ensurer.present({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": {MANAGED_BY: COLLECTION}},
        "data": dict((key, _b64(value)) for key, value in values.items()),
    }, MANAGED)


def values(secret):
    """The Secret's values as text (only for checks made before writing; never returned or logged)."""
    return dict((key, base64.b64decode(value).decode("utf-8")) for key, value in (secret.get("data") or {}).items())


def require(module, namespace, name, keys, how_to_give):
    """Fail unless the Secret ``namespace/name`` exists with every key in ``keys``."""
    secret = module.kube.get(module.kube.ref("v1", "Secret", name, namespace))
    if secret is None:
        raise ModuleError("Secret {0}/{1} does not exist. Create it with the keys {2}, or {3}.".format(
            namespace, name, " and ".join(keys), how_to_give))
    missing = [key for key in keys if key not in (secret.get("data") or {})]
    if missing:
        raise ModuleError("Secret {0}/{1} lacks the key{2} {3}. Add {4}, or {5}.".format(
            namespace, name, "s" if len(missing) > 1 else "", " and ".join(missing),
            "them" if len(missing) > 1 else "it", how_to_give))
    return secret


def release(module, namespace, name, still_used):
    """Delete the collection's Secret once its owner is gone, unless ``still_used`` (another owner names it)."""
    ref = module.kube.ref("v1", "Secret", name, namespace)
    if still_used or not is_owned(module.kube.get(ref)):
        return None
    return module.ensurer.absent(ref, MANAGED)
