"""Comparing an OpenProtein job's read-back inputs with our params (pure, no server)."""

from __future__ import annotations

import pytest

from worker.errors import BadResponse
from worker.providers.matching import Verdict
from worker.providers.openprotein.params import embed_params, msa_params
from worker.providers.openprotein.records import fasta_records, listed_jobs, unmark_seed

SEED = "MKTAYIAK"
ALIGNMENT = {"sequences": ["MKT-YIAK", "MKTAYIAK"], "is_seed": False, "names": ["q", "hit 1"]}


def test_fasta_is_read_as_the_official_client_reads_it():
    text = b">seed\nMKTA\nYIAK\n\n# comment\n> hit 1 \nMKT-YIAK\n"
    assert fasta_records(text) == [("seed", "MKTAYIAK"), ("hit 1", "MKT-YIAK")]


def test_an_msa_with_the_callers_names_matches_its_records_in_order_by_payload_only():
    params = msa_params(ALIGNMENT)
    assert params.inputs_verdict([("q", "MKT-YIAK"), ("hit 1 ", "MKTAYIAK")]) is Verdict.PAYLOAD
    assert params.inputs_verdict([("hit 1", "MKTAYIAK"), ("q", "MKT-YIAK")]) is Verdict.DIFFERENT
    assert params.inputs_verdict([("x", "MKT-YIAK"), ("hit 1", "MKTAYIAK")]) is Verdict.DIFFERENT
    assert params.marked("job-1") == params  # the caller's names are kept


def test_an_msa_named_by_us_carries_the_job_id_and_is_matched_by_it():
    params = msa_params({"sequences": [SEED]}).marked("job-1")
    assert params.names == ("jobfleet-job-1",)
    assert params.fasta() == f">jobfleet-job-1\n{SEED}\n".encode()
    assert params.inputs_verdict([("jobfleet-job-1", SEED)]) is Verdict.MATCH
    assert params.inputs_verdict([("jobfleet-job-2", SEED)]) is Verdict.DIFFERENT
    assert params.inputs_verdict([("seed", SEED)]) is Verdict.DIFFERENT


def test_an_alignment_is_never_renamed_and_is_matched_by_payload_only():
    rows = {"sequences": ["MKT-YIAK", "MKTAYIAK"], "is_seed": False}
    params = msa_params(rows).marked("job-1")
    assert params.names == ("seq1", "seq2")
    assert params.inputs_verdict([("seq1", "MKT-YIAK"), ("seq2", "MKTAYIAK")]) is Verdict.PAYLOAD


def test_the_result_gets_the_seeds_usual_name_back():
    marked = b">jobfleet-0123456789abcdef01234567\nMKTA\n>hit\nMKTA\n"
    assert unmark_seed(marked) == b">seed\nMKTA\n>hit\nMKTA\n"
    other = b">jobfleet-made-by-someone\nMKTA\n>jobfleet-0123456789abcdef01234567\nMK\n"
    assert unmark_seed(other) == other  # only our marker, only on the first record


@pytest.mark.parametrize(("args", "verdict"), [
    ({"is_seed": True}, Verdict.MATCH),
    ({"is_seed": "True"}, Verdict.MATCH),
    ({"is_seed": False}, Verdict.DIFFERENT),
    ({}, Verdict.UNSURE),  # the platform does not document the keys of args
    ({"is_seed": "maybe"}, Verdict.UNSURE),
])
def test_the_seed_flag_is_read_from_the_jobs_args(args, verdict):
    assert msa_params({"sequences": [SEED]}).args_verdict(args) is verdict


def test_embedding_sequences_match_as_a_set():
    params = embed_params({"model": "prot-seq", "sequences": ["MKTA", "MKTAY"]})
    assert params.inputs_verdict(["MKTAY", "MKTA"]) is Verdict.PAYLOAD  # nothing marks it ours
    assert params.inputs_verdict(["MKTA"]) is Verdict.DIFFERENT
    assert params.inputs_verdict(["MKTA", "MKTAY", "MK"]) is Verdict.DIFFERENT


@pytest.mark.parametrize(("params", "args", "verdict"), [
    ({}, {"model_id": "prot-seq", "reduction": "MEAN"}, Verdict.MATCH),
    ({}, {"model": "prot-seq", "reduction": "MEAN", "prompt_id": None}, Verdict.MATCH),
    ({}, {"model_id": "esm", "reduction": "MEAN"}, Verdict.DIFFERENT),
    ({"reduction": None}, {"model_id": "prot-seq", "reduction": None}, Verdict.MATCH),
    ({"reduction": None}, {"model_id": "prot-seq", "reduction": "MEAN"}, Verdict.DIFFERENT),
    ({}, {"model_id": "prot-seq", "reduction": "MEAN", "prompt_id": "p1"}, Verdict.DIFFERENT),
    ({"prompt_id": "p1"}, {"model_id": "prot-seq", "reduction": "MEAN"}, Verdict.UNSURE),
    ({}, {"reduction": "MEAN"}, Verdict.UNSURE),  # no model named: cannot tell
    ({}, {"model_id": "prot-seq"}, Verdict.UNSURE),
    ({}, {"model_id": "esm"}, Verdict.DIFFERENT),  # a difference outweighs a doubt
])
def test_model_reduction_and_prompt_are_read_from_the_jobs_args(params, args, verdict):
    embed = embed_params({"model": "prot-seq", "sequences": ["MKTA"], **params})
    assert embed.args_verdict(args) is verdict


def test_a_job_list_must_be_an_array_of_readable_jobs():
    row = {"job_id": "j1", "job_type": "/align/align", "status": "PENDING",
           "created_date": "2024-05-01T12:00:00"}
    assert listed_jobs([row]) == [row]
    with pytest.raises(BadResponse):
        listed_jobs({"items": [row]})
    with pytest.raises(BadResponse):
        listed_jobs([{**row, "status": "QUEUED"}])
