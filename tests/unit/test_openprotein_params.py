"""The OpenProtein job params: what a job line may say, and the request it becomes."""

from __future__ import annotations

import pytest

from worker.errors import PermanentError
from worker.providers.openprotein.params import (
    EmbedParams,
    MsaParams,
    embed_params,
    job_params,
    msa_params,
)

SEED = "MKTAYIAKQR"


def test_a_seed_is_sent_as_the_official_client_sends_it():
    params = msa_params({"sequences": [SEED]})
    assert params == MsaParams((SEED,), True, ("seed",), named_by_us=True)
    assert params.fasta() == f">seed\n{SEED}\n".encode()  # named by its job id when sent
    assert params.query() == {"is_seed": "True"}


def test_an_alignment_is_uploaded_with_default_or_given_names():
    rows = ["MKT-YIAK", "MKTAYIAK"]
    assert msa_params({"sequences": rows, "is_seed": False}).names == ("seq1", "seq2")
    named = msa_params({"sequences": rows, "is_seed": False, "names": ["query", "hit 1"]})
    assert named.fasta() == b">query\nMKT-YIAK\n>hit 1\nMKTAYIAK\n"
    assert named.query() == {"is_seed": "False"}


def test_the_worker_knows_nothing_of_the_emulators_override():
    with pytest.raises(PermanentError, match="unknown msa params: _emulator"):
        msa_params({"sequences": [SEED], "_emulator": {"outcome": "failed"}})
    with pytest.raises(PermanentError, match="unknown embed params: _emulator"):
        embed_params({"model": "prot-seq", "sequences": [SEED], "_emulator": {}})


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"sequences": [SEED, SEED]}, "a seed is one sequence"),
        ({"sequences": ["MKT-AY"]}, "not upper-case residues"),
        ({"sequences": ["mktay"]}, "not upper-case residues"),
        ({"sequences": []}, "non-empty list"),
        ({"sequences": SEED}, "non-empty list"),
        ({"sequences": ["MKT", "MKTA"], "is_seed": False}, "equal lengths"),
        ({"sequences": [SEED], "is_seed": "yes"}, "is_seed must be true or false"),
        ({"sequences": [SEED], "names": ["a", "b"]}, "one name per sequence"),
        ({"sequences": [SEED], "names": [">x"]}, "FASTA titles"),
        ({"sequences": [SEED], "model": "prot-seq"}, "unknown msa params: model"),
        ("MKTAY", "must be an object"),
    ],
)
def test_bad_msa_params_are_refused_with_the_reason(params, complaint):
    with pytest.raises(PermanentError, match=complaint):
        msa_params(params)


def test_embed_params_default_to_a_mean_reduction():
    params = embed_params({"model": "prot-seq", "sequences": ["MKTA", SEED]})
    assert params == EmbedParams("prot-seq", ("MKTA", SEED), "MEAN")
    assert params.body() == {"sequences": ["MKTA", SEED], "reduction": "MEAN"}


def test_a_null_reduction_asks_for_per_residue_embeddings_and_a_prompt_passes_through():
    params = embed_params({
        "model": "poet-2", "sequences": [SEED], "reduction": None, "prompt_id": "p-1",
    })
    assert params.body() == {"sequences": [SEED], "prompt_id": "p-1"}


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"sequences": [SEED]}, "params.model"),
        ({"model": "../admin", "sequences": [SEED]}, "params.model"),
        ({"model": "prot-seq", "sequences": [SEED, SEED]}, "must be unique"),
        ({"model": "prot-seq", "sequences": [SEED], "reduction": "MAX"}, "params.reduction"),
        ({"model": "prot-seq", "sequences": [SEED], "prompt_id": ""}, "prompt_id"),
        ({"model": "prot-seq", "sequences": [SEED], "is_seed": True}, "unknown embed params"),
        ({"model": "prot-seq", "sequences": ["MKT-A"]}, "not upper-case residues"),
    ],
)
def test_bad_embed_params_are_refused_with_the_reason(params, complaint):
    with pytest.raises(PermanentError, match=complaint):
        embed_params(params)


def test_an_unknown_kind_is_refused():
    with pytest.raises(PermanentError, match="runs 'msa' and 'embed'"):
        job_params("fold", {})
    assert isinstance(job_params("embed", {"model": "m", "sequences": ["A"]}), EmbedParams)
