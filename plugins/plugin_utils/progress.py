# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Progress lines during a module's long wait, in a terminal and in an AWX job's output.

A module's result reaches the controller only when the module ends, so a module
with a long wait runs in slices: it waits at most ``progress_interval`` seconds,
then ends with ``pending`` (what it waits for, what is still missing, the status
now). This action plugin prints that as one line and runs the module again; the
module finds the work it started (objects have deterministic names) and waits on.
The slices share one ``wait_timeout``; ``changed``, ``changes`` and ``diff`` of all
slices make the task's result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.ontap.virtualization.plugins.module_utils.args import (
    DEFAULT_PROGRESS_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
)
from ansible_collections.ontap.virtualization.plugins.module_utils.wait import timeout_message

display = Display()


def _seconds(value, default):
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return None  # the module refuses it with its own message


def _clock_text(seconds):
    minutes, seconds = divmod(int(seconds), 60)
    return "{0}m{1:02d}s".format(minutes, seconds) if minutes else "{0}s".format(seconds)


class ProgressAction(ActionBase):
    """Runs the module of the task's name in slices and prints a progress line between them."""

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ProgressAction, self).run(tmp, task_vars)
        module_name = getattr(self._task, "resolved_action", None) or self._task.action
        args = dict(self._task.args)
        timeout = _seconds(args.get("wait_timeout"), DEFAULT_WAIT_TIMEOUT)
        interval = _seconds(args.get("progress_interval"), DEFAULT_PROGRESS_INTERVAL)
        sliced = timeout is not None and interval is not None and 0 < interval < timeout
        started = time.monotonic()
        merged = {"changed": False, "changes": [], "diff": []}
        while True:
            run_args = dict(args)
            if sliced:
                left = timeout - (time.monotonic() - started)
                run_args["progress_interval"] = max(1, min(interval, int(left)))
            out = self._execute_module(module_name=module_name, module_args=run_args, task_vars=task_vars)
            pending = out.pop("pending", None)
            merged["changed"] = merged["changed"] or bool(out.get("changed"))
            merged["changes"].extend(out.pop("changes", None) or [])
            merged["diff"].extend(out.pop("diff", None) or [])
            if not pending or out.get("failed"):
                break
            elapsed = time.monotonic() - started
            if elapsed >= timeout:
                message = timeout_message(timeout, pending["waiting_for"], pending["missing"], pending["status"])
                if pending.get("timeout_note"):
                    message += " " + pending["timeout_note"]
                out.update(failed=True, last_status=pending.get("status"), msg=message)
                break
            display.display("{0}: {1} of {2}: waiting for {3}: {4}; still missing {5}".format(
                module_name, _clock_text(elapsed), _clock_text(timeout), pending["waiting_for"], pending["now"],
                pending["missing"]))
        result.update(out)
        result["changed"] = merged["changed"]
        result["changes"] = merged["changes"]
        if self._task.diff or merged["diff"]:
            result["diff"] = merged["diff"]
        return result
