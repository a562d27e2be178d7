"""Simulated CDI (v1.65), the storage half of OpenShift Virtualization, on the lab's storage.

``profiles``: StorageProfiles; ``datavolumes``: DataVolumes (imports, uploads, clones through
the volume populators); ``datasources``: DataSources; ``crons``: DataImportCrons; ``storage``:
what CDI knows about storage classes, and the helpers they share.
"""

from lab.controllers.cdi import crons, datasources, datavolumes, profiles


def setup(manager, webhooks) -> None:
    for part in (profiles, datavolumes, datasources, crons):
        part.setup(manager, webhooks)
