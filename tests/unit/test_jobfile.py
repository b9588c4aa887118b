import json

import pytest

from producers.jobfile import MAX_PARAMS_BYTES, parse_lines, validate

GOOD = {"key": "a", "provider": "deeporigin", "kind": "tool",
        "params": {"tool": "deeporigin.docking", "inputs": {}}}


def line(**changes):
    job = {**GOOD, **changes}
    return json.dumps({k: v for k, v in job.items() if v is not ...})


def test_good_lines_are_kept_and_bad_ones_named_by_line_number_and_reason():
    lines = [
        line(key="one"),
        "{not json",
        line(key="two", provider="nowhere"),
        "",
        line(key="three", params=...),
        line(key="four"),
    ]
    jobs, errors = parse_lines(lines)
    assert [j["key"] for j in jobs] == ["one", "four"]
    assert [str(e) for e in errors] == [
        "line 2: invalid JSON: Expecting property name enclosed in double quotes at column 2",
        "line 3: unknown provider 'nowhere' (known: deeporigin, moderately, openprotein)",
        "line 5: missing field: params",
    ]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kind": "dance"}, "unknown kind 'dance' for deeporigin (known: tool)"),
        ({"key": ""}, "'key' must be a non-empty string"),
        ({"key": 7}, "'key' must be a non-empty string"),
        ({"key": "k" * 201}, "'key' is longer than 200 characters"),
        ({"params": []}, "'params' must be an object, got array"),
        ({"params": {"tool": "x"}}, "params.inputs is required for deeporigin/tool"),
        ({"deadline_s": "soon"}, "'deadline_s' must be a number, got string"),
        ({"deadline_s": 0}, "'deadline_s' must be a finite number > 0, got 0"),
        ({"max_price": -1}, "'max_price' must be a finite number >= 0, got -1"),
        ({"max_price": True}, "'max_price' must be a number, got boolean"),
        ({"colour": "red"}, "unknown field: colour"),
    ],
)
def test_each_invalid_job_gets_a_specific_reason(changes, reason):
    with pytest.raises(ValueError) as err:
        validate({**GOOD, **changes})
    assert str(err.value) == reason


def test_oversized_params_are_refused_with_the_limit():
    big = {"tool": "t", "inputs": {"blob": "x" * MAX_PARAMS_BYTES}}
    with pytest.raises(ValueError, match=f"over the limit of {MAX_PARAMS_BYTES}"):
        validate({**GOOD, "params": big})


def test_a_repeated_key_is_refused_on_the_later_line():
    jobs, errors = parse_lines([line(key="k"), line(key="k")])
    assert len(jobs) == 1
    assert [str(e) for e in errors] == ["line 2: duplicate key 'k' (first on line 1)"]


def test_invalid_utf8_is_reported_without_losing_other_lines():
    jobs, errors = parse_lines([line(key="ok").encode(), b'{"key": "\xff"}'])
    assert [j["key"] for j in jobs] == ["ok"]
    assert [str(e) for e in errors] == ["line 2: not valid UTF-8 (byte 9)"]


def test_a_json_value_that_is_not_an_object_is_refused():
    _, errors = parse_lines(["[1, 2]"])
    assert [str(e) for e in errors] == ["line 1: expected a JSON object, got array"]


def test_an_empty_input_yields_nothing():
    assert parse_lines([]) == ([], [])


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        ("moderately", "'upload' must be an object, got string"),
        ({"to": "nowhere"}, "upload.to must be one of deeporigin, moderately, got 'nowhere'"),
        ({"to": "moderately", "name": ""}, "upload.name must be a non-empty string"),
        ({"to": "moderately", "where": "x"}, "unknown upload field: where"),
    ],
)
def test_an_invalid_upload_spec_is_refused_with_its_reason(upload, reason):
    with pytest.raises(ValueError) as err:
        validate({**GOOD, "upload": upload})
    assert str(err.value) == reason


def test_a_valid_upload_spec_is_kept():
    job = validate({**GOOD, "upload": {"to": "deeporigin", "name": "pose.sdf"}})
    assert job["upload"] == {"to": "deeporigin", "name": "pose.sdf"}
