"""MSA jobs: `POST v1/align/msa` and `GET v1/align/inputs` (doc §3.3).

The create is multipart: part `msa_file` holds FASTA (the client sends `>seed\\nSEQ` for a
seed, or a whole alignment), and the query flag `is_seed` (`True`/`False`, any case) says
which. The per-job override travels as an extra form part `_emulator` holding JSON, a field
the real service does not know and would ignore.

Results are deterministic. A seed job's "homology search" returns the seed first and then
`HOMOLOGS` variants of it, each derived from a hash of the seed; an uploaded alignment comes
back as it was sent. `msa_type=GENERATED` answers FASTA with `Content-Type: text/x-fasta`
exactly (no charset: the client falls back to CSV otherwise); `RAW` answers the input as
headerless `name,sequence` CSV, as the real service apparently does.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
from typing import Any

from aiohttp import web

from emulator.clock import OVERRIDE_FIELD, OverrideError, rejection
from emulator.openprotein.auth import USER_KEY, detail
from emulator.openprotein.jobs import (
    SUCCESS,
    OpenProteinJob,
    create_job,
    find_job,
    planned_override,
    read_override,
    render,
    wire_status,
)
from emulator.provider import ProviderContext

MSA_JOB_TYPE = "/align/align"
HOMOLOGS = 8  # variants added to a seed: enough to look like an alignment, cheap to make
MAX_SEED_LENGTH = 4096
MAX_RECORDS = 100_000
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
_SEED = re.compile(r"[A-Z]+")
_ROW = re.compile(r"[A-Z.-]+")
FASTA_TYPE = "text/x-fasta"


def parse_fasta(text: str) -> list[tuple[str, str]]:
    """(name, sequence) records, as the client reads FASTA; a bare sequence is named `seed`.

    Blank lines and `#` comments are skipped; sequence lines are joined.
    """
    records: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(">"):
            records.append((line[1:].strip(), []))
        elif records:
            records[-1][1].append(line)
        else:
            records.append(("seed", [line]))
    return [(name, "".join(parts)) for name, parts in records]


def to_fasta(records: list[tuple[str, str]]) -> bytes:
    """FASTA text, one line per sequence."""
    return "".join(f">{name}\n{sequence}\n" for name, sequence in records).encode()


def msa_problem(records: list[tuple[str, str]], is_seed: bool) -> str | None:
    """Why an `msa_file` is refused, or None."""
    if not records or not all(sequence for _, sequence in records):
        return "msa_file holds no sequence"
    if is_seed:
        if len(records) != 1:
            return f"a seed is one sequence, got {len(records)}"
        seed = records[0][1]
        if not _SEED.fullmatch(seed) or len(seed) > MAX_SEED_LENGTH:
            return f"the seed must be 1-{MAX_SEED_LENGTH} upper-case amino-acid letters"
        return None
    if len(records) > MAX_RECORDS:
        return f"an MSA holds at most {MAX_RECORDS} sequences"
    if not all(_ROW.fullmatch(sequence) for _, sequence in records):
        return "MSA rows may hold only upper-case letters, '-' and '.'"
    if len({len(sequence) for _, sequence in records}) != 1:
        return "MSA rows must all have the same length (an alignment)"
    return None


def homologs(seed: str, count: int = HOMOLOGS) -> list[tuple[str, str]]:
    """`count` aligned variants of `seed`, more distant as they go; same seed, same MSA."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    variants = []
    for index in range(1, count + 1):
        rng = random.Random(f"{digest}:{index}")
        rate = 0.05 * index  # 5 % to 40 % of the positions changed
        row = [
            ("-" if rng.random() < 0.2 else rng.choice(AMINO_ACIDS)) if rng.random() < rate else c
            for c in seed
        ]
        variants.append((f"UniRef100_EMU{digest[:6].upper()}{index:02d}", "".join(row)))
    return variants


def is_seed_flag(text: str | None) -> bool | None:
    """The `is_seed` query flag (the client sends `True`/`False`); None when unreadable."""
    value = (text or "false").lower()
    return {"true": True, "1": True, "false": False, "0": False}.get(value)


async def read_upload(request: web.Request) -> tuple[str | None, Any]:
    """The `msa_file` text and the raw `_emulator` JSON (None when absent) of a create."""
    form = await request.post()
    upload, override = form.get("msa_file"), form.get(OVERRIDE_FIELD)
    if upload is None:
        return None, None
    raw = upload if isinstance(upload, str) else upload.file.read().decode("utf-8", "replace")
    if isinstance(override, str):
        try:
            override = json.loads(override)
        except ValueError as exc:
            raise OverrideError(f"{OVERRIDE_FIELD} must be a JSON object") from exc
    return raw, override


class AlignApi:
    """Create MSA jobs and serve their inputs and results."""

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx

    def routes(self, guard: Any) -> list[web.RouteDef]:
        """Routes in match order; `guard` adds the bearer check."""
        return [
            web.post("/v1/align/msa", guard(self.create)),
            web.get("/v1/align/inputs", guard(self.inputs)),
        ]

    async def create(self, request: web.Request) -> web.Response:
        """Validate the upload, then answer the full Job object (`/align/align`)."""
        is_seed = is_seed_flag(request.query.get("is_seed"))
        if is_seed is None:
            return detail(422, "is_seed must be True or False")
        try:
            text, raw_override = await read_upload(request)
            override, extras = read_override(raw_override)
        except OverrideError as exc:
            return detail(400, str(exc))
        if text is None:
            return detail(422, "multipart part msa_file is required")
        records = parse_fasta(text)
        problem = msa_problem(records, is_seed)
        if problem:
            return detail(400, problem)
        if raw_override is None:
            raw_override = planned_override(self.ctx, None, records[0][1])
            override, extras = read_override(raw_override)  # checked when it was planned
        refused = rejection(override)
        if refused:
            return detail(*refused)
        data = OpenProteinJob(
            owner=request[USER_KEY], job_type=MSA_JOB_TYPE, args={"is_seed": is_seed},
            names=[name for name, _ in records], sequences=[seq for _, seq in records],
            sequence_length=len(records[0][1]),
        )
        body = {"is_seed": is_seed, "msa_file": text, OVERRIDE_FIELD: raw_override}
        job = create_job(self.ctx, data, body, override, extras)
        return web.json_response(render(job, self.ctx.clock.now()))

    async def inputs(self, request: web.Request) -> web.Response:
        """`msa_type=GENERATED` (after success) as FASTA, `RAW` as CSV, `PROMPT` never."""
        job_id = request.query.get("job_id", "")
        job = find_job(self.ctx, request, job_id)
        if job is None or job.data.job_type != MSA_JOB_TYPE:
            return detail(404, f"MSA job {job_id} not found")
        data: OpenProteinJob = job.data
        msa_type = request.query.get("msa_type", "GENERATED").upper()
        if msa_type == "RAW":
            rows = io.StringIO()
            csv.writer(rows, lineterminator="\n").writerows(zip(data.names, data.sequences))
            return web.Response(body=rows.getvalue().encode(), content_type="text/csv")
        if msa_type != "GENERATED":
            return detail(404, f"job {job_id} has no {msa_type} alignment")
        status = wire_status(job, self.ctx.clock.now())
        if status != SUCCESS:
            return detail(409, f"job {job_id} is {status}; its MSA is not available")
        return web.Response(body=generated_msa(data), content_type=FASTA_TYPE)


def generated_msa(data: OpenProteinJob) -> bytes:
    """The job's result FASTA, made once: seed plus homologs, or the upload as sent."""
    if "fasta" not in data.cache:
        records = list(zip(data.names, data.sequences))
        if data.args.get("is_seed"):
            records += homologs(data.sequences[0])
        data.cache["fasta"] = to_fasta(records)
    return data.cache["fasta"]
