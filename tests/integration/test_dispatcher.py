"""The dispatcher on a real Redis: due jobs become messages once each, in chunks, within the
queues' room and each provider's in-flight room."""

from __future__ import annotations

import pytest

from worker.dispatcher import Dispatcher
from worker.record import Job

pytestmark = pytest.mark.integration


def make(store, sent, *, queued=0, started_queued=None, room=None, chunk=12, high_water=10,
         lanes=None) -> Dispatcher:
    """A dispatcher whose submit messages carry three ids (a quarter of the chunk). Its
    queues hold ``queued`` messages in all, ``started_queued`` of them (default: all) in the
    started work's lane; ``lanes`` collects each message's lane (True: jobs not yet started)."""
    started_queued = queued if started_queued is None else started_queued

    def send(step, ids, until=None, unstarted=False):
        sent.append((step, ids))
        if lanes is not None:
            lanes.append(unstarted)

    return Dispatcher(store, ("deeporigin", "moderately"), send,
                      lambda step, unstarted: queued if unstarted else started_queued,
                      lambda provider: room,
                      pickup=lambda lane: 30, batch=100, chunk=chunk, high_water=high_water)


def enqueue(store, n, provider="deeporigin", due_in=0.0) -> list[str]:
    return store.create_many([Job.new("b", f"{provider}-{i}", provider, "k", {})
                              for i in range(n)], due_in=due_in)


def test_due_jobs_are_sent_once_in_chunks_of_ids(store):
    ids = enqueue(store, 7) + enqueue(store, 2, provider="moderately")
    sent: list = []
    dispatcher = make(store, sent)
    assert dispatcher.run_once() == 9
    assert [len(chunk) for step, chunk in sent] == [3, 3, 1, 2]
    assert sorted(i for _, chunk in sent for i in chunk) == sorted(ids)
    assert dispatcher.run_once() == 0  # claimed: not handed out again within the lease
    store.clock.now += 31  # nobody finished them: handed out again
    assert dispatcher.run_once() == 9


def test_a_busy_platform_does_not_starve_the_others_of_queue_room(store):
    enqueue(store, 60)  # deeporigin has far more due work than the queue has room for
    few = enqueue(store, 2, provider="moderately")
    sent: list = []
    make(store, sent, queued=6).run_once()  # room for four messages of three
    assert set(few) <= {i for _, chunk in sent for i in chunk}


def test_jobs_not_yet_due_stay_in_the_index(store):
    enqueue(store, 4, due_in=5)
    sent: list = []
    assert make(store, sent).run_once() == 0
    store.clock.now += 5
    assert make(store, sent).run_once() == 4


def test_a_long_queue_gets_no_more_messages_until_it_drains(store):
    enqueue(store, 20)
    sent: list = []
    assert make(store, sent, queued=10).run_once() == 0
    assert make(store, sent, queued=8).run_once() == 6  # room for two messages of three


def test_submits_stop_at_the_providers_in_flight_room(store):
    enqueue(store, 5)
    sent: list = []
    assert make(store, sent, room=2).run_once() == 2
    assert make(store, sent, room=0).run_once() == 0


def test_a_submit_message_carries_a_quarter_of_the_chunk_the_others_all_of_it(store):
    dispatcher = make(store, [])
    assert (dispatcher.chunk_of("poll"), dispatcher.chunk_of("submit"),
            dispatcher.chunk_of("finalize")) == (12, 3, 12)
    assert make(store, [], chunk=2).chunk_of("submit") == 1  # never an empty message


def test_a_lost_message_is_sent_again_while_new_jobs_fill_the_queue(store):
    first = enqueue(store, 3)  # one message of three
    sent: list = []
    lanes: list = []
    make(store, sent, queued=9, lanes=lanes).run_once()  # room for that one message: lost
    assert [(step, sorted(ids)) for step, ids in sent] == [("submit", sorted(first))]
    store.clock.now += 31  # nobody started it: due again
    backlog = store.create_many([Job.new("b", f"later-{i}", "deeporigin", "k", {})
                                 for i in range(30)], due_in=-60)  # older than the claim
    sent.clear()
    make(store, sent, queued=10, started_queued=0, lanes=lanes).run_once()  # full of new jobs
    assert [(step, sorted(ids)) for step, ids in sent] == [("submit", sorted(first))]  # not
    # three of the thirty new jobs, although they were due earlier
    sent.clear()
    make(store, sent, lanes=lanes).run_once()
    assert sorted(i for _, chunk in sent for i in chunk) == sorted(backlog)
    assert lanes == [True, False] + [True] * 10  # its second message in the started lane


def test_new_jobs_wait_while_started_work_fills_the_queue(store):
    enqueue(store, 6)
    sent: list = []
    assert make(store, sent, queued=10, started_queued=10).run_once() == 0
    assert make(store, sent, queued=9, started_queued=0).run_once() == 3  # one message




def test_started_submits_need_no_in_flight_room_but_held_back_jobs_do(store):
    """A job already ``submitting`` (a create to retry, a step to resume) holds its in-flight
    slot: it is sent whatever the room. A job the cap held back waits for room."""
    retry, held = enqueue(store, 2)
    assert store.start_submitting(retry, None) == "ok"
    store.reschedule(store.get(retry), "submit", store.clock())  # its create failed
    store.claim_due("submit", "deeporigin", 1, until=store.clock(), unstarted=True)
    store.reschedule(store.get(held), "submit", store.clock())  # decide.at_limit
    sent: list = []
    assert make(store, sent, room=0).run_once() == 1
    assert sent == [("submit", [retry])]
    assert make(store, sent, room=1).run_once() == 1
    assert sent[1:] == [("submit", [held])]
