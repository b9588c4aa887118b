"""Worker-side metrics: buffered in memory, folded into Redis fields Flower reads back."""

from monitor.metrics import _counter, _histogram
from worker.telemetry import CATALOGUE, Recorder, remote_end_time, status_class


def test_status_classes_keep_429_apart():
    assert [status_class(s) for s in (200, 204, 301, 404, 429, 500, 503, None)] == \
        ["2xx", "2xx", "3xx", "4xx", "429", "5xx", "5xx", "error"]


def test_observations_become_cumulative_buckets_sum_and_count():
    rec = Recorder()
    for value in (0.3, 3.0, 100.0):
        rec.observe("jobfleet_detection_delay_seconds", value, platform="moderately")
    rec.count("jobfleet_uploads_total", platform="moderately", outcome="new")
    rec.count("jobfleet_uploads_total", platform="moderately", outcome="new")
    pending = dict(rec._pending)
    field = "jobfleet_detection_delay_seconds_bucket|platform=moderately,le="
    assert pending[field + "0.5"] == 1 and pending[field + "5"] == 2
    assert pending[field + "+Inf"] == 3
    assert pending[field + "60"] == 2 and pending[field + "900"] == 3
    assert pending["jobfleet_detection_delay_seconds_sum|platform=moderately"] == 103.3
    assert pending["jobfleet_uploads_total|platform=moderately,outcome=new"] == 2
    rec.flush()  # not attached: kept for later, nothing lost
    assert dict(rec._pending) == pending


def test_flower_reads_the_fields_back_as_prometheus_families():
    metric = CATALOGUE["jobfleet_detection_delay_seconds"]
    samples = {
        "jobfleet_detection_delay_seconds_bucket": [
            ({"platform": "a", "le": "0.5"}, 1.0), ({"platform": "a", "le": "+Inf"}, 3.0)],
        "jobfleet_detection_delay_seconds_sum": [({"platform": "a"}, 9.0)],
    }
    family = _histogram(metric, samples)
    got = {(s.name, s.labels.get("le")): s.value for s in family.samples}
    assert got[("jobfleet_detection_delay_seconds_bucket", "0.5")] == 1.0
    assert got[("jobfleet_detection_delay_seconds_count", None)] == 3.0
    assert got[("jobfleet_detection_delay_seconds_sum", None)] == 9.0
    counter = _counter(CATALOGUE["jobfleet_uploads_total"],
                       [({"platform": "m", "outcome": "held"}, 4.0)])
    assert [(s.name, s.value) for s in counter.samples] == [("jobfleet_uploads_total", 4.0)]


def test_the_platforms_own_end_time_is_read_from_their_records():
    assert remote_end_time({"completedAt": "2026-05-07T15:14:02.377Z"}) == 1778166842.377
    assert remote_end_time({"end_date": "2026-05-07T15:14:02"}) == 1778166842.0
    assert remote_end_time({"failedAt": None, "status": "x"}) is None
    assert remote_end_time("not a record") is None
