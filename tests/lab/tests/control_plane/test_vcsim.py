"""vcsim answers pyVmomi like a vCenter, with the credentials the lab set."""

import ssl

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim


@pytest.fixture
def vcenter(lab):
    context = ssl.create_default_context(cafile=lab.vars["ca_cert"])
    service = SmartConnect(host=lab.vars["vcsim_host"], port=lab.vars["vcsim_port"],
                           user=lab.vars["vcsim_username"], pwd=lab.vars["vcsim_password"],
                           sslContext=context)
    yield service
    Disconnect(service)


def test_login_and_list_vms(vcenter):
    content = vcenter.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    names = {vm.name for vm in view.view}
    view.Destroy()
    # vcsim's default vCenter model: two VMs on the standalone host, two in the cluster (the lab
    # adds its own, lab.vcsim_inventory).
    assert {"DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_H0_VM0", "DC0_H0_VM1"} <= names
    assert "rhel9-postgres" in names


def test_wrong_password_is_refused(lab):
    context = ssl.create_default_context(cafile=lab.vars["ca_cert"])
    with pytest.raises(vim.fault.InvalidLogin):
        SmartConnect(host=lab.vars["vcsim_host"], port=lab.vars["vcsim_port"],
                     user=lab.vars["vcsim_username"], pwd="wrong", sslContext=context)
