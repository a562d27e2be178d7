"""mtv_run's maintenance window: the cutover at the window's next start, kept on a rerun, moved when it is not one."""

import datetime

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import mtv_run
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

# Wednesday 2 December 2026, 10:00 UTC.
NOW = datetime.datetime(2026, 12, 2, 10, 0, 0)


@pytest.mark.parametrize("window, expected", [
    ({"start": "02:00", "weekdays": ["sat", "sun"], "timezone": "UTC"}, "2026-12-05T02:00:00Z"),
    ({"start": "12:30", "weekdays": None, "timezone": "UTC"}, "2026-12-02T12:30:00Z"),  # later today
    ({"start": "09:00", "weekdays": ["wed"], "timezone": "UTC"}, "2026-12-09T09:00:00Z"),  # today's has passed
    ({"start": "10:00", "weekdays": ["wed"], "timezone": "UTC"}, "2026-12-02T10:00:00Z"),  # opening right now
    ({"start": "02:00", "weekdays": ["sat"], "timezone": "Europe/Paris"}, "2026-12-05T01:00:00Z"),  # CET, +01:00
    ({"start": "02:00", "weekdays": ["sat"], "timezone": "+05:30"}, "2026-12-04T20:30:00Z"),
    ({"start": "01:00", "weekdays": ["thu"], "timezone": "America/New_York"}, "2026-12-03T06:00:00Z"),  # EST
])
def test_the_cutover_is_the_next_start_of_the_window(window, expected):
    assert mtv_run.window_cutover(window, None, NOW) == expected


def test_daylight_saving_time_is_followed():
    """Paris is +02:00 in summer: 02:00 on Saturday 4 July 2026 is 00:00 UTC."""
    summer = datetime.datetime(2026, 7, 1, 12, 0, 0)
    window = {"start": "02:00", "weekdays": ["sat"], "timezone": "Europe/Paris"}
    assert mtv_run.window_cutover(window, None, summer) == "2026-07-04T00:00:00Z"


def test_a_rerun_keeps_the_cutover_set_and_during_the_window_too():
    window = {"start": "02:00", "weekdays": ["sat", "sun"], "timezone": "UTC"}
    assert mtv_run.window_cutover(window, "2026-12-05T02:00:00Z", NOW) == "2026-12-05T02:00:00Z"
    during = datetime.datetime(2026, 12, 5, 2, 30, 0)  # the cutover began half an hour ago
    assert mtv_run.window_cutover(window, "2026-12-05T02:00:00Z", during) == "2026-12-05T02:00:00Z"


@pytest.mark.parametrize("live", [
    "2026-12-12T02:00:00Z",  # a start of the window, but later than the next one
    "2026-12-04T02:00:00Z",  # a Friday: not a day of the window
    "2026-12-05T03:00:00Z",  # not the window's time
    "2026-12-02T11:00:00Z",  # a cutover given as a time before
])
def test_a_cutover_that_is_not_the_window_s_is_moved_to_its_next_start(live):
    window = {"start": "02:00", "weekdays": ["sat", "sun"], "timezone": "UTC"}
    assert mtv_run.window_cutover(window, live, NOW) == "2026-12-05T02:00:00Z"


def test_asked_cutover_takes_the_window_or_the_time():
    assert mtv_run.asked_cutover({"cutover_window": {"start": "02:00", "weekdays": ["sat"], "timezone": "UTC"},
                                  "cutover": None}, None, NOW) == "2026-12-05T02:00:00Z"
    assert mtv_run.asked_cutover({"cutover_window": None, "cutover": "now"}, None, NOW) == "2026-12-02T10:00:00Z"
    assert mtv_run.asked_cutover({"cutover_window": None, "cutover": None}, "2026-12-05T02:00:00Z",
                                 NOW) == "2026-12-05T02:00:00Z"


@pytest.mark.parametrize("window, names", [
    ({"start": "2:00", "timezone": "UTC"}, "HH:MM"),
    ({"start": "24:00", "timezone": "UTC"}, "HH:MM"),
    ({"start": "02:00", "timezone": "Mars/Olympus"}, "Mars/Olympus"),
])
def test_a_wrong_window_is_refused_saying_what_to_give(window, names):
    with pytest.raises(ModuleError) as error:
        mtv_run.Window(window)
    assert names in error.value.msg
