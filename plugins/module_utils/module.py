# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base every module of the collection runs on."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.ontap.virtualization.plugins.module_utils.args import module_argument_spec
from ansible_collections.ontap.virtualization.plugins.module_utils.ensure import Ensurer
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.kube import DEFAULT_RETRY_SECONDS, Kube
from ansible_collections.ontap.virtualization.plugins.module_utils.wait import Waiter


class KubeModule(object):
    """An Ansible module with the connection (and wait) options, a Kube, an Ensurer and a Waiter.

    ``run(action)`` calls ``action(self)``, which returns the result dict; a
    ModuleError becomes ``fail_json`` with its message and details.
    """

    def __init__(self, argument_spec, wait=True, **kwargs):
        kwargs.setdefault("supports_check_mode", True)
        self.ansible = AnsibleK8SModule(argument_spec=module_argument_spec(argument_spec, wait=wait), **kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.diff_mode = self.ansible._diff
        self._kube = None

    @property
    def kube(self):
        if self._kube is None:
            retry_seconds = self.params.get("wait_timeout") or DEFAULT_RETRY_SECONDS
            try:
                self._kube = Kube(get_api_client(module=self.ansible), retry_seconds=retry_seconds)
            except CoreException as exc:
                raise ModuleError("Could not connect to the Kubernetes API: {0}".format(exc))
        return self._kube

    @property
    def ensurer(self):
        return Ensurer(self.kube, check_mode=self.check_mode, want_diff=self.diff_mode)

    def waiter(self):
        return Waiter(self.kube)

    def warn(self, message):
        self.ansible.warn(message)

    def run(self, action):
        try:
            result = action(self)
        except ModuleError as exc:
            self.ansible.fail_json(msg=exc.msg, **exc.details)
        except CoreException as exc:
            self.ansible.fail_json(msg=str(exc))
        self.ansible.exit_json(**result)
