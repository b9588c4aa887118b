"""Embedding jobs: model catalogue, `POST v1/embeddings/models/{model}/embed`, results (§3.4).

The create body is JSON `{"sequences": [...], "reduction": "MEAN" | "SUM"}` (`reduction`
absent or null: one vector per residue); the client may add `prompt_id`, `query_id`,
`decoder_type` ..., which are kept in the job's args. The per-job override is the body's
`_emulator` key, which the real service would ignore. Repeated sequences are embedded once:
results are keyed by sequence.

Results are `.npy` float32 arrays, generated without NumPy and deterministic: every residue
letter has a fixed vector per model, a sequence's array is its residues' vectors (`[L, dim]`),
and MEAN/SUM reduce that over the residues (`[dim]`). One GET per sequence
(`v1/embeddings/embed/{job}/{SEQUENCE}`, the sequence raw in the path), the list of sequences
at `.../sequences`, or all of them at `v1/embeddings/{job}/stream` as frames of an 8-byte
big-endian length followed by the `.npy` bytes.
"""

from __future__ import annotations

import random
import re
import string
import struct
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

from aiohttp import web

from emulator.clock import OVERRIDE_FIELD, JobRecord, OverrideError, rejection
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
from emulator.openprotein.npy import float32_bytes, npy_bytes
from emulator.provider import ProviderContext

EMBED_JOB_TYPE = "/embeddings/embed"
REDUCTIONS = ("MEAN", "SUM")
MAX_SEQUENCES = 10_000
_SEQUENCE = re.compile(r"[A-Z]+")


@dataclass(frozen=True)
class Model:
    """One embedding model as `GET v1/embeddings/models?verbose=true` lists it."""

    model_id: str
    dimension: int
    max_sequence_length: int
    summary: str

    def metadata(self) -> dict[str, Any]:
        """The client's `ModelMetadata` (`model_id` and `description` are required)."""
        return {
            "model_id": self.model_id,
            "description": {"summary": self.summary, "citation_title": None, "doi": None},
            "max_sequence_length": self.max_sequence_length,
            "dimension": self.dimension,
            "output_types": ["embed"],
            "input_tokens": list(string.ascii_uppercase),
            "output_tokens": None,
            "token_descriptions": None,
        }


MODELS = {
    model.model_id: model
    for model in (
        Model("prot-seq", 1024, 1024, "OpenProtein protein language model (emulated)"),
        Model("esm2_t6_8M_UR50D", 320, 1022, "ESM-2, 6 layers, 8M parameters (emulated)"),
    )
}


@cache
def residue_vectors(model_id: str, dimension: int) -> dict[str, tuple[tuple[float, ...], bytes]]:
    """Each letter's fixed vector for a model, as float32 values and as packed bytes."""
    table = {}
    for letter in string.ascii_uppercase:
        rng = random.Random(f"{model_id}:{letter}")
        packed = float32_bytes([rng.uniform(-1.0, 1.0) for _ in range(dimension)])
        table[letter] = (struct.unpack(f"<{dimension}f", packed), packed)
    return table


def embedding(model: Model, sequence: str, reduction: str | None) -> bytes:
    """The `.npy` embedding of one sequence: `[L, dim]`, or `[dim]` when reduced."""
    table = residue_vectors(model.model_id, model.dimension)
    if reduction is None:
        rows = b"".join(table[letter][1] for letter in sequence)
        return npy_bytes((len(sequence), model.dimension), rows)
    counts = Counter(sequence)
    totals = [0.0] * model.dimension
    for letter, count in counts.items():
        for index, value in enumerate(table[letter][0]):
            totals[index] += count * value
    if reduction == "MEAN":
        totals = [total / len(sequence) for total in totals]
    return npy_bytes((model.dimension,), float32_bytes(totals))


def body_problem(body: Any, model: Model) -> str | None:
    """Why an embed body is refused, or None."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    sequences = body.get("sequences")
    if not isinstance(sequences, list) or not 1 <= len(sequences) <= MAX_SEQUENCES:
        return f"sequences must be a list of 1-{MAX_SEQUENCES} strings"
    for sequence in sequences:
        if not isinstance(sequence, str) or not _SEQUENCE.fullmatch(sequence):
            return f"not an upper-case amino-acid sequence: {str(sequence)[:40]!r}"
        if len(sequence) > model.max_sequence_length:
            return f"{model.model_id} takes at most {model.max_sequence_length} residues"
    if body.get("reduction") is not None and body["reduction"] not in REDUCTIONS:
        return f"reduction must be one of {', '.join(REDUCTIONS)} or null"
    return None


class EmbeddingsApi:
    """Model catalogue, embed jobs and their per-sequence results."""

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx

    def routes(self, guard: Any) -> list[web.RouteDef]:
        """Routes in match order (`models/...` before `{job_id}/stream`)."""
        one = "/v1/embeddings/embed/{job_id}"
        return [
            web.get("/v1/embeddings/models", guard(self.list_models)),
            web.get("/v1/embeddings/models/{model_id}", guard(self.get_model)),
            web.post("/v1/embeddings/models/{model_id}/embed", guard(self.create)),
            web.get(one + "/sequences", guard(self.sequences)),
            web.get(one + "/{sequence}", guard(self.result)),
            web.get("/v1/embeddings/{job_id}/stream", guard(self.stream)),
        ]

    async def list_models(self, request: web.Request) -> web.Response:
        """Model ids, or full metadata with `verbose=true`."""
        if request.query.get("verbose", "").lower() == "true":
            return web.json_response([model.metadata() for model in MODELS.values()])
        return web.json_response(list(MODELS))

    async def get_model(self, request: web.Request) -> web.Response:
        """One model's metadata, or 404."""
        model = MODELS.get(request.match_info["model_id"])
        if model is None:
            return detail(404, f"model {request.match_info['model_id']} not found")
        return web.json_response(model.metadata())

    async def create(self, request: web.Request) -> web.Response:
        """Validate, then answer the full Job object (`/embeddings/embed`)."""
        model = MODELS.get(request.match_info["model_id"])
        if model is None:
            return detail(404, f"model {request.match_info['model_id']} not found")
        try:
            body = await request.json()
        except ValueError:
            return detail(422, "body must be JSON")
        problem = body_problem(body, model)
        if problem:
            return detail(400, problem)
        try:
            raw = planned_override(self.ctx, body.get(OVERRIDE_FIELD), body["sequences"][0])
            override, extras = read_override(raw)
        except OverrideError as exc:
            return detail(400, str(exc))
        refused = rejection(override)
        if refused:
            return detail(*refused)
        sequences = list(dict.fromkeys(body["sequences"]))
        args = {k: v for k, v in body.items() if k not in ("sequences", OVERRIDE_FIELD)}
        data = OpenProteinJob(
            owner=request[USER_KEY], job_type=EMBED_JOB_TYPE,
            args={"model_id": model.model_id, "reduction": body.get("reduction"), **args},
            names=[], sequences=sequences, num_records=len(sequences),
        )
        job = create_job(self.ctx, data, [model.model_id, body], override, extras)
        return web.json_response(render(job, self.ctx.clock.now()))

    def _job(self, request: web.Request) -> JobRecord | None:
        job = find_job(self.ctx, request, request.match_info["job_id"])
        return job if job is not None and job.data.job_type == EMBED_JOB_TYPE else None

    def _not_ready(self, job: JobRecord) -> web.Response | None:
        status = wire_status(job, self.ctx.clock.now())
        if status == SUCCESS:
            return None
        return detail(409, f"job {job.remote_id} is {status}; results are not available")

    async def sequences(self, request: web.Request) -> web.Response:
        """The job's sequences, in the order they were sent (repeats dropped)."""
        job = self._job(request)
        if job is None:
            return detail(404, f"embedding job {request.match_info['job_id']} not found")
        return web.json_response(job.data.sequences)

    async def result(self, request: web.Request) -> web.Response:
        """One sequence's `.npy` embedding."""
        job = self._job(request)
        if job is None:
            return detail(404, f"embedding job {request.match_info['job_id']} not found")
        refused = self._not_ready(job)
        sequence = request.match_info["sequence"]
        if refused is None and sequence not in job.data.sequences:
            refused = detail(404, f"sequence {sequence[:40]} is not part of job {job.remote_id}")
        return refused or self._npy(job, sequence)

    async def stream(self, request: web.Request) -> web.Response:
        """Every embedding as length-prefixed frames, in sequence order."""
        job = self._job(request)
        if job is None:
            return detail(404, f"embedding job {request.match_info['job_id']} not found")
        refused = self._not_ready(job)
        if refused:
            return refused
        frames = []
        for sequence in job.data.sequences:
            array = self._array(job, sequence)
            frames.append(struct.pack(">Q", len(array)) + array)
        return web.Response(body=b"".join(frames), content_type="application/octet-stream")

    def _array(self, job: JobRecord, sequence: str) -> bytes:
        model = MODELS[job.data.args["model_id"]]
        return embedding(model, sequence, job.data.args.get("reduction"))

    def _npy(self, job: JobRecord, sequence: str) -> web.Response:
        body = self._array(job, sequence)
        return web.Response(body=body, content_type="application/octet-stream")
