# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Work that runs to a terminal phase (an install, a migration, a clone, a restore): created once, followed to its end.

The work object has a deterministic name (``names.work_name``), so a rerun finds the
one the first run created and follows it instead of starting a second. Its spec is
not patched once it exists: upstream controllers treat such specs as fixed, and new
inputs give a new name anyway.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import describe


def run_to_completion(module, desired, done, failed=None):
    """Create ``desired`` unless it exists, then wait until ``done`` (a Predicate) holds, or ``failed`` does.

    Returns the object: as created or found (check mode, ``wait: false``), or in its
    terminal state. A wait that ends with ``failed`` raises with the last status; a
    timeout raises saying the work is left running.
    """
    ref = module.ensurer.ref_of(desired)
    live = module.kube.get(ref)
    if live is None:
        live = module.ensurer.present(desired, []).object
    if module.check_mode or not module.params["wait"]:
        return live
    try:
        finished = module.wait_until(ref, done, fail_when=failed)
    except wait.WaitTimedOut as exc:
        # Still a WaitTimedOut, so that the module leaves the work running instead of undoing its creation.
        raise wait.WaitTimedOut("{0} It is left running: run again to follow it, or delete {1} to stop it.".format(
            exc.msg, describe(ref)), exc.last, exc.ref, exc.missing)
    module.ensurer.changes.finished(ref)
    return finished
