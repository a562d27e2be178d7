import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.ontap.virtualization.plugins.filter.value_problems import FilterModule, value_problems


def test_valid_names_have_no_problem():
    assert value_problems({"ns": "vms", "vm": "rhel9-on-ontap", "long": "a" * 63}, "name") == []


def test_each_wrong_name_is_named_with_what_is_wrong():
    assert value_problems({"ns": "VMs", "vm": "ok", "empty": "", "long": "a" * 64}, "name") == [
        "ns: 'VMs' must consist of lower case alphanumeric characters or '-', and must start and end with an "
        "alphanumeric character.",
        "empty: a name must not be empty.",
        "long: '{0}' is 64 characters long; at most 63 are allowed.".format("a" * 64)]


def test_sizes_as_users_write_them_have_no_problem():
    assert value_problems({"root": "30Gi", "data": "10G", "bytes": 1024, "half": "0.5Ti"}, "size") == []


def test_each_wrong_size_is_named_with_its_value():
    assert value_problems({"root": "30GB", "data": "10Gi", "none": ""}, "size") == [
        "root: '30GB' is not a size such as 30Gi.", "none: '' is not a size such as 30Gi."]


def test_another_kind_is_refused_naming_the_two_it_checks():
    with pytest.raises(AnsibleFilterError, match="checks a name or a size, not 'label'"):
        value_problems({"ns": "vms"}, "label")


def test_it_is_a_filter_of_the_collection():
    assert FilterModule().filters() == {"value_problems": value_problems}
