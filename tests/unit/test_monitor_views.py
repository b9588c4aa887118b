"""Pure parts of the fleet's pages: Flower's navbar with our links, the progress chart, reading
the aggregates' field names, and the API's body parsing."""

from pathlib import Path

import flower
import pytest
from tornado import web

from monitor.api import _parse
from monitor.batches import _per_platform, _timeline
from monitor.charts import progress_svg
from monitor.templates import FlowerTemplates, with_our_links


def test_flowers_navbar_gains_our_links_inside_its_main_list():
    navbar = (Path(flower.__file__).parent / "templates" / "navbar.html").read_text()
    changed = with_our_links(navbar)
    main_list = changed[changed.index('class="app-nav navbar-nav"'):]
    main_list = main_list[:main_list.index("</ul>")]
    assert "reverse_url('jobfleet-batches')" in main_list
    assert "reverse_url('jobfleet-fleet')" in main_list
    assert changed.count("<li") == navbar.count("<li") + 2  # nothing else changed

def test_an_unexpected_navbar_is_left_alone():
    assert with_our_links("<nav>nothing here</nav>") == "<nav>nothing here</nav>"


def test_the_loader_serves_our_templates_and_flowers():
    loader = FlowerTemplates(str(Path(flower.__file__).parent / "templates"))
    assert "jobfleet-batch" in loader.load("jobfleet_batch.html").code
    assert "jobfleet-fleet" in loader.load("navbar.html").code


def test_aggregate_fields_read_back_per_platform_and_over_time():
    assert _per_platform({"deeporigin:total": "3", "deeporigin:failed": "1",
                          "jobsapi:queued": "2"}) == {
        "deeporigin": {"total": 3, "queued": 0, "submitting": 0, "running": 0,
                       "succeeded": 0, "failed": 1, "cancelled": 0},
        "jobsapi": {"total": 0, "queued": 2, "submitting": 0, "running": 0,
                    "succeeded": 0, "failed": 0, "cancelled": 0}}
    assert _timeline({"20:failed": "1", "10:succeeded": "2", "20:succeeded": "3"}) == [
        (10.0, {"succeeded": 2}), (20.0, {"failed": 1, "succeeded": 3})]


def test_progress_chart_ends_at_the_ended_count():
    svg = progress_svg([(1000.0, 2), (1010.0, 5)], total=8, start=995.0)
    assert 'aria-label="5 of 8 jobs ended over 25s"' in svg and "<polyline" in svg
    assert progress_svg([], total=8, start=None) == ""


def test_api_bodies_are_read_as_jsonl_or_an_array():
    good = b'{"key": "a", "provider": "deeporigin", "kind": "tool", "params": ' \
           b'{"tool": "t", "inputs": {}}}'
    jobs, errors, unit = _parse(good + b"\n{oops\n")
    assert (len(jobs), unit, [e.line for e in errors]) == (1, "line", [2])
    jobs, errors, unit = _parse(b"[" + good + b", 7]")
    assert (len(jobs), unit) == (1, "item")
    assert errors[0].line == 2 and "expected a JSON object" in errors[0].reason
    with pytest.raises(web.HTTPError):
        _parse(b"[1, 2")
