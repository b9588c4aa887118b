"""The job params of OpenProtein's two kinds, checked before anything is sent.

Names follow the platform's own (``sequences``, ``is_seed``, ``model``, ``reduction``,
``prompt_id``) so a job line reads like the API call it becomes::

    msa:    {"sequences": ["MKTAYIAK"]}                           a seed: the platform searches
            {"sequences": ["MKT-YIAK", "MKTAYIAK"], "is_seed": false,
             "names": ["query", "hit1"]}                           an alignment we already have
    embed:  {"model": "prot-seq", "sequences": ["MKTAYIAK", ...],
             "reduction": "MEAN" | "SUM" | null, "prompt_id": "..."?}

``is_seed`` defaults to true (one sequence); ``reduction`` defaults to ``"MEAN"`` (the
official client's default; null asks for one vector per residue). Every problem is a
``PermanentError`` naming the param: a bad job line never improves by retrying.

The ``*_verdict`` methods compare a remote job's inputs, as the platform reads them back,
with these params (for :meth:`~worker.providers.openprotein.OpenProteinProvider.find`):

* an MSA's records are compared **in order**, names and rows: the first row is the query
  and the order is the alignment's;
* an embedding job's sequences are compared **as a set** (ours are unique): each sequence
  is embedded on its own and results are keyed by sequence, so order changes nothing, and
  the platform may list them in its own order;
* the other arguments (``is_seed``; ``model``, ``reduction``, ``prompt_id``) come from the
  job's ``args``, whose keys the platform does not document: a key we need and cannot
  find there makes the verdict ``UNSURE``, never a match.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from worker.errors import PermanentError
from worker.providers.matching import Verdict, worst
from worker.providers.openprotein import EMBED, MSA
from worker.providers.openprotein.records import SEED_MARKER_PREFIX

NAME = "openprotein"
DEFAULT_REDUCTION = "MEAN"
REDUCTIONS = ("MEAN", "SUM")
MAX_SEQUENCES = 10_000  # per job; far above a sensible batch, low enough to catch a runaway line
_RESIDUES = re.compile(r"[A-Z]+")  # one-letter amino-acid codes, as the models take them
_MSA_ROW = re.compile(r"[A-Z.-]+")  # aligned rows also carry gaps
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # one URL path segment, no escaping needed
_NAME = re.compile(r"[^\s>][^\n\r>]*")  # a FASTA title: no line break, no '>'
_MSA_KEYS = MSA.names  # as the spec declares them
_EMBED_KEYS = EMBED.names


@dataclass(frozen=True)
class MsaParams:
    """An ``msa`` job: a seed to search from, or an alignment to upload."""

    sequences: tuple[str, ...]
    is_seed: bool
    names: tuple[str, ...]
    named_by_us: bool = False  # a seed without a given name: its name is ours to choose

    def marked(self, job_id: str) -> MsaParams:
        """These params with our job id as the seed's name, when that name is ours to
        choose: the platform echoes names back, so a lost create is then found by the id
        instead of by comparing inputs (the result gets ``seed`` back, see
        :func:`~worker.providers.openprotein.records.unmark_seed`)."""
        if not self.named_by_us:
            return self
        return dataclasses.replace(self, names=(job_marker(job_id), *self.names[1:]))

    def fasta(self) -> bytes:
        """The ``msa_file`` part; a seed goes as ``>seed\\nSEQ``, as the official client sends."""
        return "".join(f">{n}\n{s}\n" for n, s in zip(self.names, self.sequences)).encode()

    def query(self) -> dict[str, str]:
        """The ``is_seed`` flag spelt as the official client spells it."""
        return {"is_seed": "True" if self.is_seed else "False"}

    def inputs_verdict(self, records: Sequence[tuple[str, str]]) -> Verdict:
        """Whether read-back ``(name, sequence)`` records are ours, in order."""
        theirs = [(name.strip(), sequence) for name, sequence in records]
        ours = [(name.strip(), sequence) for name, sequence in zip(self.names, self.sequences)]
        if theirs != ours:
            return Verdict.DIFFERENT
        return Verdict.MATCH if self.named_by_us else Verdict.PAYLOAD

    def args_verdict(self, args: Mapping[str, Any]) -> Verdict:
        """Whether the job's ``args`` say it was made with our ``is_seed``."""
        flag = args.get("is_seed")
        if isinstance(flag, str):
            flag = {"true": True, "false": False}.get(flag.strip().lower())
        if not isinstance(flag, bool):
            return Verdict.UNSURE
        return Verdict.MATCH if flag == self.is_seed else Verdict.DIFFERENT


@dataclass(frozen=True)
class EmbedParams:
    """An ``embed`` job: sequences through one model, reduced or per residue."""

    model: str
    sequences: tuple[str, ...]
    reduction: str | None = DEFAULT_REDUCTION
    prompt_id: str | None = None

    def body(self) -> dict[str, Any]:
        """The JSON body of ``POST v1/embeddings/models/{model}/embed``."""
        body: dict[str, Any] = {"sequences": list(self.sequences)}
        if self.reduction is not None:
            body["reduction"] = self.reduction
        if self.prompt_id is not None:
            body["prompt_id"] = self.prompt_id
        return body

    def inputs_verdict(self, sequences: Sequence[str]) -> Verdict:
        """Whether a job's read-back sequences are ours, in any order: at best a ``PAYLOAD``
        match, since an embedding job has no field that could carry our job id."""
        same = sorted(sequences) == sorted(self.sequences)
        return Verdict.PAYLOAD if same else Verdict.DIFFERENT

    def args_verdict(self, args: Mapping[str, Any]) -> Verdict:
        """Whether the job's ``args`` name our model, reduction and prompt."""
        return worst(
            _arg_verdict(args, ("model_id", "model"), self.model, absent_is_none=False),
            _arg_verdict(args, ("reduction",), self.reduction, absent_is_none=False),
            _arg_verdict(args, ("prompt_id",), self.prompt_id, absent_is_none=True),
        )


def _arg_verdict(
    args: Mapping[str, Any], keys: tuple[str, ...], expected: Any, *, absent_is_none: bool
) -> Verdict:
    """One argument read back under the first of ``keys`` present; unsure when none is,
    unless an absent key plainly means "not given" (an optional argument we did not send)."""
    key = next((k for k in keys if k in args), None)
    if key is None:
        return Verdict.MATCH if absent_is_none and expected is None else Verdict.UNSURE
    return Verdict.MATCH if args[key] == expected else Verdict.DIFFERENT


def _reject(message: str) -> NoReturn:
    raise PermanentError(message, provider=NAME)


def _mapping(params: Any, allowed: frozenset[str], kind: str) -> Mapping[str, Any]:
    if not isinstance(params, Mapping):
        _reject(f"{kind} params must be an object")
    if unknown := sorted(set(params) - allowed):
        _reject(f"unknown {kind} params: {', '.join(map(str, unknown))}")
    return params


def _sequences(raw: Any, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        _reject("params.sequences must be a non-empty list of strings")
    if len(raw) > MAX_SEQUENCES:
        _reject(f"params.sequences holds {len(raw)} sequences; at most {MAX_SEQUENCES}")
    for index, sequence in enumerate(raw):
        if not isinstance(sequence, str) or not pattern.fullmatch(sequence):
            _reject(f"params.sequences[{index}] is not {what}: {str(sequence)[:40]!r}")
    return tuple(raw)


def msa_params(params: Any) -> MsaParams:
    """Checks an ``msa`` job's params; raises ``PermanentError`` naming the problem."""
    params = _mapping(params, _MSA_KEYS, "msa")
    is_seed = params.get("is_seed", True)
    if not isinstance(is_seed, bool):
        _reject("params.is_seed must be true or false")
    if is_seed:
        sequences = _sequences(params.get("sequences"), _RESIDUES, "upper-case residues")
        if len(sequences) != 1:
            _reject(f"a seed is one sequence; got {len(sequences)} (set is_seed: false)")
    else:
        sequences = _sequences(params.get("sequences"), _MSA_ROW, "an aligned row")
        if len({len(s) for s in sequences}) != 1:
            _reject("with is_seed false the sequences are an alignment: give them equal lengths")
    default = ["seed"] if is_seed else [f"seq{i}" for i in range(1, len(sequences) + 1)]
    names = params.get("names", default)
    if not isinstance(names, Sequence) or isinstance(names, str) or len(names) != len(sequences):
        _reject("params.names must be a list with one name per sequence")
    if not all(isinstance(n, str) and _NAME.fullmatch(n) for n in names):
        _reject("params.names must be one-line FASTA titles without '>'")
    named_by_us = is_seed and "names" not in params
    return MsaParams(sequences, is_seed, tuple(names), named_by_us)


def job_marker(job_id: str) -> str:
    """The seed name that says an MSA job is the one we created for ``job_id``."""
    return f"{SEED_MARKER_PREFIX}{job_id}"


def embed_params(params: Any) -> EmbedParams:
    """Checks an ``embed`` job's params; raises ``PermanentError`` naming the problem."""
    params = _mapping(params, _EMBED_KEYS, "embed")
    model = params.get("model")
    if not isinstance(model, str) or not _MODEL.fullmatch(model):
        _reject(f"params.model must be a model id such as 'prot-seq', got {model!r}")
    sequences = _sequences(params.get("sequences"), _RESIDUES, "upper-case residues")
    if len(set(sequences)) != len(sequences):
        _reject("params.sequences must be unique: the platform keys results by sequence")
    reduction = params.get("reduction", DEFAULT_REDUCTION)
    if reduction is not None and reduction not in REDUCTIONS:
        _reject(f"params.reduction must be one of {', '.join(REDUCTIONS)} or null")
    prompt_id = params.get("prompt_id")
    if prompt_id is not None and not (isinstance(prompt_id, str) and prompt_id):
        _reject("params.prompt_id must be a non-empty string")
    return EmbedParams(model, sequences, reduction, prompt_id)


def job_params(kind: str, params: Any) -> MsaParams | EmbedParams:
    """The checked params of a job of ``kind`` (``msa`` or ``embed``)."""
    if kind == "msa":
        return msa_params(params)
    if kind == "embed":
        return embed_params(params)
    _reject(f"unsupported job kind {kind!r}; openprotein runs 'msa' and 'embed' jobs")
