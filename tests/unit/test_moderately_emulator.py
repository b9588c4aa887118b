"""The Moderately emulator's pure pieces: the output override, paging and list parameters."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from emulator.clock import OverrideError
from emulator.moderately.listing import ListSpec, PageRequest, paginate, parse_page
from emulator.moderately.model import OutputSpec, split_override
from emulator.moderately.wire import BadRequest, query_values

SPEC = ListSpec(20, 100, {"createdAt": lambda row, now: row[0], "fileName": lambda r, n: r[1]})


def test_the_output_key_is_taken_out_of_the_override_before_the_clock_sees_it():
    clock, spec = split_override({"duration_s": 1, "output": {"delivery": "s3", "size_bytes": 10}})
    assert clock == {"duration_s": 1}
    assert spec == OutputSpec(delivery="s3", compression="gzip", size_bytes=10)
    assert split_override(None) == (None, OutputSpec())


@pytest.mark.parametrize(
    "output",
    [[], {"delivery": "ftp"}, {"compression": "lz4"}, {"size_bytes": -1}, {"typo": 1}],
)
def test_a_malformed_output_override_is_refused(output):
    with pytest.raises(OverrideError):
        split_override({"output": output})


def test_paging_accepts_the_official_clients_snake_case_and_the_documented_camel_case():
    snake = parse_page({"page": "2", "page_size": "10", "order_by": "created_at",
                        "order_direction": "asc"}, SPEC)
    camel = parse_page({"page": "2", "pageSize": "10", "orderBy": "createdAt",
                        "orderDirection": "asc"}, SPEC)
    assert snake == camel and (snake.page, snake.size, snake.descending) == (2, 10, False)
    assert parse_page({}, SPEC).size == 20 and parse_page({}, SPEC).descending


@pytest.mark.parametrize(
    "query", [{"page": "0"}, {"pageSize": "101"}, {"orderBy": "status"}, {"page": "x"},
              {"orderDirection": "up"}],
)
def test_out_of_range_paging_is_a_bad_request(query):
    with pytest.raises(BadRequest):
        parse_page(query, SPEC)


def test_rows_created_in_the_same_millisecond_keep_insertion_order_across_pages():
    rows = [(1.0, f"r{i}", i) for i in range(5)]
    pages = [
        paginate(rows, PageRequest(page, 2, "createdAt", False), SPEC, 0.0,
                 lambda r: r[2], lambda r: {"id": r[1]})
        for page in (1, 2, 3)
    ]
    assert [item["id"] for page in pages for item in page["items"]] == [r[1] for r in rows]
    assert pages[0]["pagination"] == {"page": 1, "pageSize": 2, "totalItems": 5, "totalPages": 3,
                                      "hasNextPage": True, "hasPreviousPage": False}
    assert pages[2]["pagination"]["hasNextPage"] is False


def test_list_filters_take_comma_lists_repeated_keys_and_either_spelling():
    query = MultiDict([("statuses", "running,pending"), ("statuses", "failed"),
                       ("agent_id", "a1")])
    assert query_values(query, "statuses", "status") == {"running", "pending", "failed"}
    assert query_values(query, "agentIds", "agent_id") == {"a1"}
    assert query_values(query, "fileIds") == set()
