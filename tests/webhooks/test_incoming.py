"""The incoming connector's pure part: mapping problems in a policy, dotted paths, objects to
Posts with each problem named by index and field."""

from __future__ import annotations

import pytest

from townhall.org.policy import Channel
from townhall.webhooks.incoming import (
    BodyError,
    lookup,
    map_object,
    mapping_problems,
    read_body,
    to_posts,
)


def _policy(*channels):
    return {"channels": list(channels)}


def test_mapping_problems_names_each_problem_with_its_place():
    good = {
        "id": "hook",
        "kind": "webhook",
        "token_env": "HOOK_SECRET",
        "mapping": {
            "id": "data.id",
            "text": "data.body",
            "author.handle": "data.user.login",
            "extra.ticket": "data.ticket",
        },
    }
    bare = {"id": "bare", "kind": "webhook", "mapping": {"text": "body"}}
    typo = {
        "id": "typo",
        "kind": "webhook",
        "token_env": "T",
        "mapping": {
            "id": "id",
            "text": "body",
            "in_reply_to": "parent",
            "author.login": "u",
            "url": "a..b",
            "extra.": "x",
        },
    }
    stray = {"id": "rss", "kind": "rss", "mapping": {"text": "x"}}

    problems = mapping_problems(_policy(good, bare, typo, stray))

    assert [p for p in problems if p[0][1] == 0] == []  # the good channel has none
    assert (("channels", 1, "mapping"), "map 'id' to where it is in the JSON") in problems
    messages = {loc: msg for loc, msg in problems}
    assert messages[("channels", 2, "mapping", "in_reply_to")] == (
        "unknown Post field 'in_reply_to' (did you mean 'reply_to'?)"
    )
    assert (
        "unknown Post field 'author.login'" in messages[("channels", 2, "mapping", "author.login")]
    )
    assert "not a dotted path" in messages[("channels", 2, "mapping", "url")]
    assert "unknown Post field 'extra.'" in messages[("channels", 2, "mapping", "extra.")]
    assert messages[("channels", 1, "token_env")].startswith("a webhook channel needs token_env")
    assert messages[("channels", 3, "mapping")] == "only a webhook channel uses a mapping"
    assert len(problems) == 7


def test_mapping_problems_takes_a_loaded_policy_too(acme_policy):
    assert mapping_problems(acme_policy) == []


def test_lookup_follows_objects_and_list_indexes():
    doc = {"data": {"user": {"login": "bob"}, "tags": [{"n": "x"}, {"n": "y"}]}}

    assert lookup(doc, "data.user.login") == "bob"
    assert lookup(doc, "data.tags.1.n") == "y"
    missing = lookup(doc, "data.tags.7.n")
    assert missing is lookup(doc, "data.nothing") is lookup(doc, "data.user.login.deeper")


CHANNEL = Channel.model_validate(
    {
        "id": "hook",
        "kind": "webhook",
        "account": "Helpdesk",
        "default_owner": "customer_service",
        "token_env": "HOOK",
        "mapping": {"id": "t.id", "text": "t.body", "author.name": "t.who"},
    }
)


def test_unmapped_fields_get_defaults_and_numeric_ids_become_text(now):
    data = map_object(CHANNEL, {"t": {"id": 42, "body": "hello", "who": None}}, now)

    assert data == {
        "channel": "hook",
        "id": "42",
        "text": "hello",
        "created_at": "2026-11-20T14:00:00Z",
        "author": {"handle": "Helpdesk"},
    }


def test_to_posts_keeps_good_objects_and_names_bad_ones(now):
    posts, rejected = to_posts(
        CHANNEL,
        [
            {"t": {"id": "a", "body": "fine"}},
            {"t": {"body": "no id"}},
            {"t": {"id": "c", "body": 7}},
        ],
        now,
        300,
    )

    assert [p.id for p in posts] == ["hook:a"]
    assert posts[0].author.handle == "Helpdesk"
    assert [(r.index, r.field, r.path) for r in rejected] == [
        (1, "id", "t.id"),
        (2, "text", "t.body"),
    ]


def test_read_body_takes_an_object_or_an_array_and_refuses_the_rest():
    assert read_body(b'{"a": 1}') == [{"a": 1}]
    assert read_body(b"[1, 2]") == [1, 2]
    with pytest.raises(BodyError, match="not valid JSON"):
        read_body(b"{")
    with pytest.raises(BodyError, match="at most 500"):
        read_body(b"[" + b",".join([b"{}"] * 501) + b"]")
