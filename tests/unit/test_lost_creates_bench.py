"""bench.lost_creates: which log lines make a lost answer, an adoption and a walk."""

from __future__ import annotations

from bench.lost_creates import adoptions, parse, split, walks

MD_POST = "POST /moderately/agent-executions"


def line(second: str, message: str) -> str:
    return f"[2026-11-26 03:57:{second}: INFO/MainProcess] {message}"


LOG = [
    line("28,000", f"job aa: submit failed (1/8), again in 1.0s: moderately HTTP 502: {MD_POST}"),
    line("30,000", f"job aa: submit failed (2/8), again in 1.0s: moderately: {MD_POST}: dropped"),
    line("40,000", "moderately: shared search of agent:acv read 200 rows since 900 s before it "
                   "began in 4.0 s: 3 marked, 0 unreadable"),
    line("45,000", "job aa: adopting remote job r1 from an earlier attempt"),
    line("50,000", "job bb: the create's answer was lost (ConnectionError); searching "
                   "deeporigin for it at once"),
    line("50,200", "job bb: submit failed (1/8), its search waits for a shared walk under way, "
                   "again in 0.2s: deeporigin: POST x: dropped"),
    line("50,500", "job bb: adopting remote job r2, made by the create whose answer was lost"),
    line("51,000", "job cc: submit failed (1/8), searched for at once and not found yet, again "
                   "in 9.0s: openprotein: POST x: dropped"),
    line("52,000", "job dd: adopting remote job r4 from an earlier attempt"),
    "not a log line",
]


def test_each_adoption_is_timed_from_the_last_lost_answer_before_it():
    events = list(parse(LOG))
    found = {(platform, round(adopted - lost, 1)) for platform, lost, adopted in adoptions(events)}
    # aa from its second create (the first one's 502 was searched for and created again);
    # cc never adopted; dd adopted after a worker died (no lost answer logged)
    assert found == {("moderately", 15.0), ("deeporigin", 0.5)}


def test_a_shared_search_is_split_at_the_first_walk_begun_after_the_lost_answer():
    events = list(parse(LOG))
    walked = walks(events)
    (_, lost, adopted), = [a for a in adoptions(events) if a[0] == "moderately"]
    assert [rows for _, _, rows in walked["moderately"]] == [200]
    assert split(lost, adopted, walked["moderately"]) == (6.0, 4.0, 5.0)
    assert split(lost, lost + 1, walked["moderately"]) is None  # adopted before any walk ended
