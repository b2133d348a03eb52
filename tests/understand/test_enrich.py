"""Enrichment of a batch: one result per post, in order, the same as post by post."""

from __future__ import annotations

import pytest

from townhall.understand.enrich import Understander


@pytest.fixture(scope="module")
def understander(acme_policy):
    return Understander.from_policy(acme_policy)


def test_a_batch_with_repeats_equals_post_by_post(understander, make_post):
    posts = [
        make_post(1, text="My AirFry 5 basket melted!! Is anyone at ACME listening?"),
        make_post(2, text="", reshare_of="mastodon:100001"),
        make_post(3, text="Love my KettleOne 😍", author={"handle": "@a@b", "location": "Lagos"}),
        make_post(4, text="", reshare_of="mastodon:100001", author={"handle": "@c@d"}),
        make_post(
            5,
            text="My AirFry 5 basket melted!! Is anyone at ACME listening?",
            author={"handle": "@e@f", "location": "Toronto", "followers": 50_000},
        ),
    ]

    batch = understander.enrich(posts)
    one_by_one = [understander.enrich([p])[0] for p in posts]

    assert batch == one_by_one
    assert batch[0].intent == batch[4].intent and batch[0].country != batch[4].country
    assert (batch[4].country, batch[4].reach) == ("CA", "mid")
    assert batch[1].topics == [] and batch[1].language is None
    assert understander.enrich([]) == []


def test_language_hints_and_topic_lists_belong_to_each_post(understander, make_post):
    posts = [
        make_post(1, text="ok", lang="fr"),
        make_post(2, text="ok", lang="de"),
        make_post(3, text="Love my KettleOne"),
        make_post(4, text="Love my KettleOne"),
    ]

    french, german, first, second = understander.enrich(posts)

    assert (french.language, german.language) == ("fr", "de")  # too short to tell: the hint
    assert first.topics == second.topics == ["product:kettleone"]
    first.topics.append("x")
    assert second.topics == ["product:kettleone"]
