"""The simulated operators of the lab (Trident, snapshot-controller, CDI, OLM, HCO, KubeVirt, ...).

Every module of this package that defines ``setup(manager, webhooks)`` is loaded by
``python -m lab.controllers``; ``setup`` adds its Controllers to the manager and its
admission webhooks to the webhook server. Adding a simulated operator is adding a module.
"""
