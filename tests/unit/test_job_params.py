"""Job params are checked at submit against the platform's spec: the exact field is named,
official-client spellings are renamed to the API's, and the good lines proceed."""

import json

import pytest

from producers.jobfile import parse_lines, validate
from worker.providers import get_spec, provider_names
from worker.providers.schema import Param, ParamsSchema

TOOL = {"tool": "deeporigin.docking", "inputs": {"ligand": "CCO"}}


def job(provider="deeporigin", kind="tool", **params):
    return {"key": "k", "provider": provider, "kind": kind, "params": params}


@pytest.mark.parametrize(
    ("provider", "kind", "params", "reason"),
    [
        ("deeporigin", "tool", {**TOOL, "tool": 7}, "params.tool must be a string, got integer"),
        ("deeporigin", "tool", {**TOOL, "inputs": []},
         "params.inputs must be an object, got array"),
        ("deeporigin", "tool", {**TOOL, "_x": 1},
         "unknown field params._x for deeporigin/tool (known: tool, version, inputs, name, "
         "metadata, cluster_id)"),
        ("deeporigin", "tool", {**TOOL, "tool_key": "a.b"},
         "params.tool_key and params.tool are the same field (an official-client spelling); "
         "give it once"),
        ("moderately", "agent", {"agent_id": "a", "agentInput": {}},
         "params.agent_id: the official client's agent_id names an agent, not what runs; give "
         "params.agentConfigurationVersionId (the configuration version to run)"),
        ("moderately", "agent",
         {"agentConfigurationVersionId": "v", "agentInput": {}, "maxActions": 101},
         "params.maxActions must be at most 100, got 101"),
        ("moderately", "agent",
         {"agentConfigurationVersionId": "v", "agentInput": {}, "maxActions": True},
         "params.maxActions must be an integer, got boolean"),
        ("moderately", "pipeline", {"pipelineConfigurationVersionId": "v"},
         "params.pipelineInput is required for moderately/pipeline"),
        ("openprotein", "embed", {"model": "m", "sequences": ["MK"], "reduction": "MAX"},
         "params.reduction must be one of 'MEAN', 'SUM', got 'MAX'"),
        ("openprotein", "msa", {"sequences": ["MK", 3]},
         "params.sequences must be an array of strings; item 1 is integer"),
    ],
)
def test_a_wrong_param_is_refused_naming_the_exact_field(provider, kind, params, reason):
    with pytest.raises(ValueError) as err:
        validate(job(provider, kind, **params))
    assert str(err.value) == reason


def test_official_client_spellings_are_renamed_to_the_apis_fields():
    do = validate(job(tool_key="deeporigin.docking", tool_version="1.2", inputs={}))
    assert do["params"] == {"tool": "deeporigin.docking", "version": "1.2", "inputs": {}}
    agent = validate(job("moderately", "agent", agent_configuration_version_id="v",
                         input_data={"q": 1}, max_actions=3))
    assert agent["params"] == {"agentConfigurationVersionId": "v", "agentInput": {"q": 1},
                               "maxActions": 3}
    pipeline = validate(job("moderately", "pipeline", pipeline_configuration_version_id="v",
                            pipeline_input={}, pipeline_input_summary="s", total_steps=2))
    assert pipeline["params"] == {"pipelineConfigurationVersionId": "v", "pipelineInput": {},
                                  "pipelineInputSummary": "s", "totalSteps": 2}


def test_bad_params_lines_are_named_by_number_and_the_good_lines_proceed():
    lines = [json.dumps(job(**TOOL) | {"key": str(i)}) for i in range(4)]
    lines[1] = json.dumps(job(**{**TOOL, "tool": 7}) | {"key": "1"})
    lines[2] = json.dumps(job(**{**TOOL, "_x": 1}) | {"key": "2"})
    jobs, errors = parse_lines(lines)
    assert [j["key"] for j in jobs] == ["0", "3"]
    assert [(e.line, e.reason.split(" ")[0]) for e in errors] == [(2, "params.tool"),
                                                                (3, "unknown")]


def test_every_platform_declares_its_kinds_and_settings():
    assert {"deeporigin", "moderately", "openprotein"} <= set(provider_names())
    for name in provider_names():
        spec = get_spec(name)
        assert spec.kinds and spec.name == name and spec.env_prefix.endswith("_")
        assert all(p.name for schema in spec.kinds.values() for p in schema.params)


def test_a_schema_refuses_a_spelling_declared_twice():
    with pytest.raises(ValueError, match="declared twice"):
        ParamsSchema((Param("a", "string"), Param("b", "string", aliases=("a",))))
