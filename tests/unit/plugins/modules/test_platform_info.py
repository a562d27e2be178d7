"""platform_info: a minimum version that is not a version is refused, never read as "no check"."""

import pytest

from ansible_collections.ontap.virtualization.plugins.modules import platform_info


@pytest.mark.parametrize("value", ["4.17", "4.20", "4.17.3"])
def test_versions_are_accepted(value):
    assert platform_info.version_problem(value) is None


def test_a_number_is_refused_with_the_quote_to_use():
    assert "Quote it, for example '4.20'" in platform_info.version_problem(4.2)


@pytest.mark.parametrize("value", ["banana", "4", "v4.17", "4.17-rc1", ""])
def test_words_are_refused(value):
    assert "is not a version such as '4.17'" in platform_info.version_problem(value)
