# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a module run changed, gathered from every write the Ensurer made, for the module's result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DONE = {"create": "created", "update": "updated", "delete": "deleted", "evict": "evicted"}


class Changes(object):
    """Collects the Outcomes of one run: ``changed``, the diffs (Secret values already hidden) and one line per write.

    ``check_mode`` words the lines as what a real run would do ("would create ...").
    """

    def __init__(self, check_mode=False, want_diff=False):
        self.check_mode = check_mode
        self.want_diff = want_diff
        self.changed = False
        self.diffs = []
        self.lines = []
        self._outcomes = []
        self._finished = set()

    def record(self, outcome):
        if outcome.changed:
            self.changed = True
            self._outcomes.append(outcome)
            verb = "would " + outcome.action if self.check_mode else DONE[outcome.action]
            self.lines.append("{0} {1}".format(verb, outcome.what))
            if self.want_diff and outcome.diff is not None:
                self.diffs.append(outcome.diff)
        return outcome

    def finished(self, ref):
        """``ref`` is work this run created that has run to its end: done, not half-made, so a later step's failure
        leaves it, and a rerun finds it instead of starting the work again (or refusing what it made)."""
        self._finished.add(ref)

    def created(self):
        """The Outcomes of the objects this run created and may undo (none in check mode, where nothing is written;
        no finished work)."""
        return [] if self.check_mode else [o for o in self._outcomes
                                           if o.action == "create" and o.ref not in self._finished]

    def result(self, **values):
        """The module result: ``values`` plus changed, changes and (in diff mode) diff."""
        result = dict(values)
        result["changed"] = self.changed or bool(values.get("changed"))
        result["changes"] = list(self.lines)
        if self.want_diff:
            result["diff"] = list(self.diffs)
        return result
