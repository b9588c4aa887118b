"""The emulator's accounting: sliding windows, per-credential meters, concurrency, uploads."""

from __future__ import annotations

import base64
import itertools
import time

import pytest

from emulator.clock import JobRecord, Plan
from emulator.credentials import ANONYMOUS, credential_label, credential_of
from emulator.stats import (
    ProviderStats,
    RateMeter,
    SlidingWindow,
    job_interval,
    max_in_any_window,
    peak_concurrency,
)
from emulator.tokens import make_jwt


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], 0),
        ([5.0], 1),
        # Two aligned seconds of 3 each, but 4 inside (10.6, 11.6]: a calendar count misses it.
        ([10.0, 10.7, 10.8, 10.9, 11.1, 11.2], 5),
        ([0.0, 0.5, 0.999], 3),
        # A hit exactly 1 s after another starts a new window: (t - 1, t] leaves t - 1 out.
        ([0.0, 1.0, 2.0, 3.0], 1),
        ([0.0, 0.0, 0.0, 1.0], 3),
        ([0.0, 0.25, 0.5, 0.75, 1.0, 1.25], 4),
    ],
)
def test_max_in_any_window_counts_the_busiest_half_open_second(times, expected):
    assert max_in_any_window(times) == expected


def test_sliding_window_matches_a_brute_force_count_over_every_window():
    times = [round(0.137 * i % 7.3, 3) for i in range(200)]
    times.sort()
    brute = max(sum(1 for t in times if end - 1.0 < t <= end) for end in times)
    window = SlidingWindow(1.0)
    for t in times:
        window.hit(t)
    assert window.peak == brute


def test_sliding_window_finds_bursts_that_straddle_calendar_seconds():
    burst = [100.6 + i * 0.05 for i in range(10)]  # 100.60 .. 101.05: 8 in one second, 2 next
    rate, window = RateMeter(), SlidingWindow(1.0)
    for t in burst:
        rate.hit(t)
        window.hit(t)
    assert rate.peak == 8
    assert window.peak == 10
    assert rate.histogram == {2: 1, 8: 1}


def test_credential_of_hashes_tokens_and_never_shows_them():
    key = "sk-live-very-secret"
    label = credential_of({"Authorization": f"Bearer {key}"})
    assert label == credential_label("key", key)
    assert key not in label and label.startswith("cred-")


def test_credential_of_a_jwt_is_its_user_so_rotated_tokens_stay_one_credential():
    first = make_jwt({"sub": "alice"}, now=1_000)
    second = make_jwt({"sub": "alice"}, now=2_000)
    assert first != second
    assert credential_of({"Authorization": f"Bearer {first}"}) == credential_label("user", "alice")
    assert credential_of({"Authorization": f"Bearer {second}"}) == credential_label("user", "alice")


def test_credential_of_basic_auth_and_api_key_headers_and_anonymous():
    basic = base64.b64encode(b"bob:pw").decode()
    assert credential_of({"Authorization": f"Basic {basic}"}) == credential_label("user", "bob")
    assert credential_of({"X-API-Key": "k1"}) == credential_label("key", "k1")
    assert credential_of({}) == ANONYMOUS


def _job(start: float | None, queue_s: float, duration_s: float, cancelled_at=None) -> JobRecord:
    plan = Plan(queue_s=queue_s, duration_s=duration_s, outcome="succeeded", reason=None, price=1)
    return JobRecord(provider="p", remote_id="r", created_at=start or 0.0, plan=plan,
                     clock_start=start, cancelled_at=cancelled_at)


def test_job_interval_covers_queue_and_run_and_stops_at_a_cancel():
    assert job_interval(_job(10.0, 1.0, 5.0)) == (10.0, 16.0)
    assert job_interval(_job(10.0, 1.0, 5.0, cancelled_at=12.0)) == (10.0, 12.0)
    assert job_interval(_job(None, 1.0, 5.0)) is None  # an unconfirmed quote never ran


def test_peak_concurrency_lets_an_ending_job_free_its_slot_for_one_starting_then():
    assert peak_concurrency([(0, 2), (2, 4), (4, 6)]) == 1
    assert peak_concurrency([(0, 10), (1, 3), (2, 5), (4, 6)]) == 3
    assert peak_concurrency([]) == 0


def test_snapshot_reports_per_credential_peaks_and_duplicate_uploads():
    stats = ProviderStats()
    for t in (1.0, 1.2, 1.4, 2.1):
        stats.count_request("GET /x", t, "cred-a")
    stats.count_request("GET /x", 1.5, "cred-b")
    for start in (0.0, 1.0, 2.0):
        stats.track_job(_job(start, 0.0, 1.5), "cred-a")
    stats.count_file("k1", "aa", 3)
    stats.count_file("k2", "aa", 3)  # the same bytes as a second file: a duplicate upload
    stats.count_file("k3", "bb", 3)
    stats.count_file("k3", "bb", 3)  # the same file sent again (a retried PUT): repeated only
    snap = stats.snapshot({})
    assert snap["peak_rps_by_credential"] == {"cred-a": 3, "cred-b": 1}
    assert snap["max_requests_in_any_1s_window"] == {"cred-a": 3, "cred-b": 1}
    assert snap["requests_by_credential"] == {"cred-a": 4, "cred-b": 1}
    assert snap["peak_running_by_credential"] == {"cred-a": 2}
    assert snap["files_by_sha256"] == {"aa": 2, "bb": 1}
    assert snap["uploads_by_sha256"] == {"aa": 2, "bb": 2}
    assert snap["duplicate_uploads"] == 1
    assert snap["repeated_uploads"] == 2
    brief = stats.snapshot({}, brief=True)
    assert "files_by_sha256" not in brief and brief["duplicate_uploads"] == 1


def test_a_file_overwritten_with_other_bytes_no_longer_counts_for_the_old_ones():
    stats = ProviderStats()
    stats.count_file("k1", "aa", 3)
    stats.count_file("k1", "bb", 3)
    stats.count_file("k2", "aa", 3)
    snap = stats.snapshot({})
    assert snap["files_by_sha256"] == {"aa": 1, "bb": 1}
    assert snap["duplicate_uploads"] == 0


def test_peak_running_stays_cheap_for_100k_jobs():
    stats = ProviderStats()
    for i, cred in zip(range(100_000), itertools.cycle(["a", "b"])):
        stats.track_job(_job(i * 0.5, 0.5, 10.0), cred)  # each credential: one start a second
    started = time.perf_counter()
    peaks = stats.peak_running_by_credential()
    assert peaks == {"a": 11, "b": 11}  # [t - 10.5, t] holds 11 whole seconds
    assert time.perf_counter() - started < 3.0
