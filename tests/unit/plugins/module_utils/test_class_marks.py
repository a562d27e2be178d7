"""Default-class marks: one class of a family carries each mark; immutable fields need recreate."""

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import class_marks
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

SPEC = {"name": {"type": "str"}, "recreate": {"type": "bool", "default": False}}
MARK = "example.com/is-default"


def widget(name, size=1, marked=None):
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "ns1"},
           "spec": {"size": size}}
    if marked is not None:
        obj["metadata"]["annotations"] = {MARK: marked}
    return obj


def ensure(module, desired, mark=True):
    ref = module.kube.ref("example.com/v1", "Widget", desired["metadata"]["name"], "ns1")
    return class_marks.ensure_with_default_marks(module, desired, ref, immutable=("spec.size",), mutable=(),
                                                 marks={MARK: mark}, family=lambda other: True)


def test_marking_one_unmarks_the_others(make_module, apiserver):
    apiserver.put("widgets", widget("old", marked="true"))
    apiserver.put("widgets", widget("other", marked="false"))
    result = ensure(make_module(SPEC, name="new"), widget("new"))
    assert result["unmarked"] == ["old"]
    assert result["changes"] == ["created Widget ns1/new", "updated Widget ns1/old"]
    assert class_marks.is_marked(apiserver.get("widgets", "ns1", "new"), MARK)
    assert not class_marks.is_marked(apiserver.get("widgets", "ns1", "old"), MARK)
    again = ensure(make_module(SPEC, name="new"), widget("new"))
    assert again["changed"] is False and again["unmarked"] == []


def test_an_immutable_change_needs_recreate(make_module, apiserver):
    apiserver.put("widgets", widget("w", size=1))
    with pytest.raises(ModuleError) as err:
        ensure(make_module(SPEC, name="w"), widget("w", size=2), mark=None)
    assert "Widget ns1/w cannot be changed in place: Kubernetes does not allow updates to spec.size (spec.size: 1 -> 2)" \
        in err.value.msg
    assert apiserver.calls("PATCH") == apiserver.calls("DELETE") == []
    result = ensure(make_module(SPEC, name="w", recreate=True), widget("w", size=2), mark=None)
    assert result["changes"] == ["deleted Widget ns1/w", "created Widget ns1/w"]
    assert apiserver.get("widgets", "ns1", "w")["spec"]["size"] == 2
