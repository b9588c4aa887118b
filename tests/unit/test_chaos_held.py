"""Which jobs a killed worker held, from its log and the unacknowledged messages."""

from __future__ import annotations

from bench.chaos_held import held_jobs, open_tasks

LOG = """\
[2026-11-26 01:14:26,804: INFO/MainProcess] Task jobfleet.submit[aaaa-1] received
[2026-11-26 01:14:26,817: INFO/MainProcess] Task jobfleet.poll[bbbb-2] received
[2026-11-26 01:14:27,001: INFO/MainProcess] Task jobfleet.finalize[cccc-3] received
[2026-11-26 01:14:28,100: INFO/MainProcess] Task jobfleet.poll[bbbb-2] succeeded in 0.2s: None
[2026-11-26 01:14:28,200: INFO/MainProcess] job j9 failed (remote_failed): jobsapi: remote failure
[2026-11-26 01:14:29,300: ERROR/MainProcess] Task jobfleet.finalize[cccc-3] raised unexpected: X
"""


def test_the_messages_received_and_not_finished_are_the_ones_held(tmp_path):
    log = tmp_path / "chaos1.log"
    log.write_text(LOG)
    assert open_tasks(log) == {"aaaa-1"}
    unacked = {"aaaa-1": ["j1", "j2"], "bbbb-2": ["j3"], "dddd-4": ["j4"]}  # dddd: another's
    assert held_jobs(unacked, log) == {"j1", "j2"}


def test_a_worker_without_a_log_held_nothing(tmp_path):
    assert held_jobs({"aaaa-1": ["j1"]}, tmp_path / "missing.log") == set()
