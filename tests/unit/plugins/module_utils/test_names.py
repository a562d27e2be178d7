import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, names


@pytest.mark.parametrize("name", ["vm1", "a", "rhel9-web-01", "x" * 63])
def test_valid_labels(name):
    assert names.dns1123_label_error(name) is None


@pytest.mark.parametrize("name,why", [
    ("", "must not be empty"), ("VM1", "lower case"), ("-vm", "start and end"), ("vm.1", "lower case"),
    ("x" * 64, "64 characters long"),
])
def test_invalid_labels(name, why):
    assert why in names.dns1123_label_error(name)


def test_subdomain_allows_dots():
    assert names.dns1123_subdomain_error("backend.nas-01") is None
    assert "253" in names.dns1123_subdomain_error("a" * 254)


@pytest.mark.parametrize("text,expected", [("My_VM.01", "my-vm-01"), ("--Web  Server--", "web-server"),
                                           ("DC0_H0_VM0", "dc0-h0-vm0")])
def test_normalise(text, expected):
    assert names.to_dns1123_label(text) == expected
    assert names.dns1123_label_error(expected) is None


def test_normalise_long_names_stay_distinct_and_valid():
    first = names.to_dns1123_label("very-long-prefix-" * 5 + "a")
    second = names.to_dns1123_label("very-long-prefix-" * 5 + "b")
    assert first != second
    assert len(first) == 63 and names.dns1123_label_error(first) is None
    assert first == names.to_dns1123_label("very-long-prefix-" * 5 + "a")


def test_normalise_refuses_nothing_to_keep():
    with pytest.raises(ValueError):
        names.to_dns1123_label("___")


def test_work_name_is_deterministic_valid_and_tells_inputs_apart():
    first = names.work_name("clone", "vm1", "vm1-copy")
    assert first == names.work_name("clone", "vm1", "vm1-copy")
    assert first.startswith("clone-vm1-vm1-copy-")
    assert names.dns1123_label_error(first) is None
    assert first != names.work_name("clone", "vm1-vm1", "copy")
    long_one = names.work_name("migration", "Very_Long_Name." * 10)
    assert len(long_one) <= 63 and names.dns1123_label_error(long_one) is None


def test_paths_with_dotted_keys():
    obj = {}
    key = ("metadata", "annotations", "storageclass.kubernetes.io/is-default-class")
    fields.put(obj, key, "true")
    assert fields.get(obj, key) == "true"
    assert fields.project(obj, [key, "spec.x"]) == obj


def test_contains_semantics():
    assert fields.contains({"a": 1, "b": 2}, {"a": 1})
    assert not fields.contains({"a": 1}, {"a": 1, "b": 2})
    assert fields.contains([{"a": 1, "x": 0}], [{"a": 1}])
    assert not fields.contains([1, 2], [1])
    assert fields.contains(None, None) and not fields.contains("x", None)
