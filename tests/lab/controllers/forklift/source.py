"""What a migration does to the source VM in vSphere (pkg/controller/plan/adapter/vsphere/client.go
`PowerState`, `PowerOff`, `PowerOn`, `PoweredOff`, `CreateSnapshot`, `RemoveSnapshot`,
`CheckSnapshotReady` at v2.12.5), through pyVmomi on the provider's endpoint.

Power-off is a guest shutdown (ShutdownGuest) as upstream; vSphere tasks are followed by their
moRef, which the VM status keeps, so a restarted controller looks the same task up again.
"""

from contextlib import contextmanager

from pyVmomi import vim, vmodl

from lab.controllers.forklift import vsphere
from lab.controllers.forklift.credentials import ca_cert, insecure


@contextmanager
def session(provider: dict, secret_data: dict):
    service = vsphere.connect(provider["spec"]["url"], secret_data.get("user", ""), secret_data.get("password", ""),
                              cadata=ca_cert(secret_data), insecure=insecure(secret_data))
    try:
        yield Source(service)
    finally:
        vsphere.disconnect(service)


class Source:
    def __init__(self, service):
        self.service = service
        self.content = service.RetrieveContent()

    def _vm(self, vm_id: str):
        return vim.VirtualMachine(vm_id, self.service._stub)

    def _read(self, obj, path: str):
        """One property (a whole `runtime` object would not parse: see vsphere.py)."""
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=obj)],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=type(obj), pathSet=[path])])
        options = vmodl.query.PropertyCollector.RetrieveOptions()
        result = self.content.propertyCollector.RetrievePropertiesEx([spec], options)
        for found in (result.objects if result else []):
            for prop in found.propSet or []:
                return prop.val
        return None

    def power_state(self, vm_id: str) -> str:
        """PowerState: On, Off or Unknown, as plan.VMPowerState."""
        state = self._read(self._vm(vm_id), "runtime.powerState")
        return {"poweredOn": "On", "poweredOff": "Off"}.get(state, "Unknown")

    def power_off(self, vm_id: str) -> None:
        if self.power_state(vm_id) != "Off":
            self._vm(vm_id).ShutdownGuest()

    def power_on(self, vm_id: str) -> str:
        if self.power_state(vm_id) == "On":
            return ""
        return self._vm(vm_id).PowerOnVM_Task()._moId

    def create_snapshot(self, vm_id: str, name: str) -> str:
        """The snapshot task's moRef (CreateSnapshot: quiesce and memory off, as upstream)."""
        task = self._vm(vm_id).CreateSnapshot_Task(name=name, description="Forklift Operator warm migration precopy",
                                                   memory=False, quiesce=False)
        return task._moId

    def task(self, task_id: str):
        """(state, result moRef id) of a task."""
        info = self._read(vim.Task(task_id, self.service._stub), "info")
        if info is None:
            return "unknown", ""
        result = getattr(info.result, "_moId", "") if info.result is not None else ""
        return info.state, result

    def remove_snapshot(self, snapshot_id: str) -> str:
        return vim.vm.Snapshot(snapshot_id, self.service._stub).RemoveSnapshot_Task(removeChildren=False)._moId

    def snapshot_ids(self, vm_id: str) -> list:
        tree = self._read(self._vm(vm_id), "snapshot")
        found, stack = [], list(tree.rootSnapshotList) if tree else []
        while stack:
            node = stack.pop()
            found.append(node.snapshot._moId)
            stack.extend(node.childSnapshotList or [])
        return found
