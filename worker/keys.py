"""Every Redis key the fleet owns, built in this one module.

Celery's own keys (its queues, the kombu bindings) are Celery's; everything else starts
with :data:`PREFIX`. Layout (single-node Redis)::

    jf:job:{id}                 hash   the job record (see worker.record)
    jf:batch:{b}                hash   total, one counter per state, cancel flag: O(1) status
    jf:batch:{b}:ids            list   job ids in submission order
    jf:due:{step}:{provider}    zset   job id → when its next step is due
    jf:unstarted:{provider}     zset   job id → when due, for jobs no dispatcher has claimed
                                       yet (new or retried, waiting for their first submit):
                                       claimed only after the submit step's due index, so
                                       work already started goes first (see claim_keys)
    jf:inflight                 hash   provider → remote jobs alive now (submitting + running)
    jf:remote:{provider}:{rid}  string the job tracking remote job rid (never two); its own key
                                       so it expires with the job (``id#n``: a past attempt)
    jf:authfail:{credential}    string a refused credential's reason, for a short while
    jf:limit:{credential}       hash   the credential's fleet-wide token bucket and pause
    jf:limit:{credential}:create hash  the credential's fleet-wide pace of creates
    jf:token:{provider}:{h}...  string a shared login, sealed (see the provider's auth module)
    jf:pauses                   hash   credential → end of its 429 pause (for the fleet page)
    jf:refusals                 zset   credential → end of its remembered refusal (ditto)
    jf:metrics                  hash   workers' counters and histograms (worker.telemetry)
    jf:sweep:{credential}       string which worker process sweeps the credential (a lease)
    jf:find:{credential}:...    the shared search for lost creates (worker.providers.shared_find):
                                       ``:{scope}:lock`` string, ``:{scope}:waiting`` zset,
                                       ``:{scope}:walked`` string, ``:marks``, ``:seen`` and
                                       ``:asked`` hashes
    jf:pickup:{lane}            hash   worker process → its longest recent queue wait: a
                                       step, or submit:unstarted
                                       (the adaptive pickup window, worker.pickup)
    jf:retention:batches        zset   finished batch → when its retention ends
    jf:retention:files          hash   job id → the result files held for it (JSON list):
                                       written by its finalize, named by its manifest
    jf:retention:files:due      zset   ended job id → when its result files are removed
    jf:retention:lease          string which worker process runs this round of the janitor

``{credential}`` is ``provider:fingerprint`` (:mod:`worker.credentials`): every part of
the credential, secret included, so a corrected credential is a different key.

Aggregates for monitoring, moved in the same Lua step as each state change (read by
:mod:`monitor.batches`, so pages and /metrics never scan jobs)::

    jf:batches                  zset   batch → creation time (the batch list)
    jf:counts                   hash   "{provider}:{state}" → jobs, all batches
    jf:batch:{b}:platforms      hash   "{provider}:{state}" → jobs, "{provider}:total"
    jf:batch:{b}:reasons        hash   failure reason → jobs
    jf:batch:{b}:examples       hash   failure reason → the first message seen for it
    jf:batch:{b}:ended          hash   "{10 s bucket}:{terminal state}" → jobs ended then

Retention (``JOBFLEET_RETENTION_DAYS``): a job's hash and its registry entry expire that long
after the job ends, and its result files are removed then; a batch's keys that long after its
last job ends (a new job or a retry makes them permanent again). The files, and a batch's
``:platforms`` counts (taken off ``jf:counts`` first), are removed by the retention janitor
(:mod:`worker.retention`), not by Redis. ``jf:batches`` members whose batch has expired are
pruned by the dispatchers.

The Lua scripts get the prefixes below from :mod:`worker.scripts`, never spelled twice.
"""

from __future__ import annotations

from worker.record import STEPS

PREFIX = "jf:"
JOB = f"{PREFIX}job:"
BATCH = f"{PREFIX}batch:"
DUE = f"{PREFIX}due:"
UNSTARTED = f"{PREFIX}unstarted:"
INFLIGHT = f"{PREFIX}inflight"
REMOTE = f"{PREFIX}remote:"
AUTHFAIL = f"{PREFIX}authfail:"
SWEEP = f"{PREFIX}sweep:"
LIMIT = f"{PREFIX}limit:"
TOKEN = f"{PREFIX}token:"
FIND = f"{PREFIX}find:"
PAUSES = f"{PREFIX}pauses"
REFUSALS = f"{PREFIX}refusals"
METRICS = f"{PREFIX}metrics"
BATCHES = f"{PREFIX}batches"
COUNTS = f"{PREFIX}counts"
PICKUP = f"{PREFIX}pickup:"
RETIRING = f"{PREFIX}retention:batches"
HELD_FILES = f"{PREFIX}retention:files"
FILES_DUE = f"{PREFIX}retention:files:due"
RETENTION_LEASE = f"{PREFIX}retention:lease"
ENDED_BUCKET_S = 10  # width of the ended-jobs-over-time buckets


def job_key(job_id: str) -> str:
    """The hash holding one job's record."""
    return f"{JOB}{job_id}"


def batch_key(batch: str) -> str:
    """The hash of a batch's counters and flags."""
    return f"{BATCH}{batch}"


def batch_ids_key(batch: str) -> str:
    """The list of a batch's job ids, in submission order."""
    return f"{BATCH}{batch}:ids"


def due_key(step: str, provider: str) -> str:
    """The due index of one step for one provider (a sorted set scored by due time)."""
    return f"{DUE}{step}:{provider}"


def unstarted_key(provider: str) -> str:
    """The index of ``provider``'s jobs not yet started (a sorted set scored by due time)."""
    return f"{UNSTARTED}{provider}"


FIRST_STEP = STEPS[0]  # the step a job not yet started waits for (submit)


def claim_keys(step: str, provider: str, unstarted: bool = False) -> list[str]:
    """What a dispatcher claims ``step``'s due jobs of ``provider`` from: the step's due
    index (work already started), or, with ``unstarted``, the index of jobs not yet started
    and the due index a claim moves them into (none for steps after the first: no keys).
    The dispatcher claims the first before the second (see claim_due.lua)."""
    due = due_key(step, provider)
    if not unstarted:
        return [due]
    return [unstarted_key(provider), due] if step == FIRST_STEP else []


def remote_key(provider: str, remote_id: str) -> str:
    """Which job tracks remote job ``remote_id`` of ``provider``."""
    return f"{REMOTE}{provider}:{remote_id}"


PLATFORMS_PART = ":platforms"  # kept past the batch's expiry until the janitor retires it
BATCH_PARTS = ("", ":ids", PLATFORMS_PART, ":reasons", ":examples", ":ended")  # a batch's keys


def batch_keys(batch: str) -> list[str]:
    """Every key that belongs to one batch (its jobs' keys aside): forgotten together."""
    return [f"{BATCH}{batch}{part}" for part in BATCH_PARTS]


def sweep_lease_key(credential: str) -> str:
    """The lease that picks the one worker process sweeping a credential's jobs."""
    return f"{SWEEP}{credential}"


def find_prefix(credential: str) -> str:
    """Where the shared search for one credential's lost creates keeps its state."""
    return f"{FIND}{credential}:"


def authfail_key(credential: str) -> str:
    """A refused credential (``provider:fingerprint``), remembered so its jobs fail fast."""
    return f"{AUTHFAIL}{credential}"


def limit_key(credential: str) -> str:
    """The token bucket and pause of one credential (see worker.limits)."""
    return f"{LIMIT}{credential}"


def create_pace_key(credential: str) -> str:
    """The token bucket pacing one credential's creates (see worker.limits)."""
    return f"{LIMIT}{credential}:create"


def token_prefix(provider: str) -> str:
    """Where a provider that logs in keeps its shared tokens (one key per identity)."""
    return f"{TOKEN}{provider}:"


def pickup_key(lane: str) -> str:
    """The queue waits the worker processes measured for ``lane`` (see worker.pickup)."""
    return f"{PICKUP}{lane}"
