"""UTM parameters on a post's links: what is added, what is kept, and that tagging is
idempotent and leaves the text between links alone (property tests)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.publishing.utm import links, tag, tag_link

UTM = "utm_source=mastodon&utm_medium=social&utm_campaign=airfry-5-launch"


def tagged(text: str) -> str:
    return tag(text, source="mastodon", campaign="airfry-5-launch")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://acme.example/x.", f"see https://acme.example/x?{UTM}."),
        (
            "Shop: https://acme.example/airfry?colour=red",
            f"Shop: https://acme.example/airfry?colour=red&{UTM}",
        ),
        ("https://acme.example/p#specs", f"https://acme.example/p?{UTM}#specs"),
        ("https://acme.example/p?a=1#specs!", f"https://acme.example/p?a=1&{UTM}#specs!"),
        ("(details: https://acme.example/x)", f"(details: https://acme.example/x?{UTM})"),
        (
            "https://en.wikipedia.org/wiki/Air_fryer_(kitchen), nice",
            f"https://en.wikipedia.org/wiki/Air_fryer_(kitchen)?{UTM}, nice",
        ),
        ("https://bücher.example:8443/a?b=%20c", f"https://bücher.example:8443/a?b=%20c&{UTM}"),
        ("http://acme.example/?", f"http://acme.example/?{UTM}?"),
        ("Is it https://acme.example/faq?!", f"Is it https://acme.example/faq?{UTM}?!"),
        ('"https://acme.example/q"', f'"https://acme.example/q?{UTM}"'),
        ("<https://acme.example/q>", f"<https://acme.example/q?{UTM}>"),
        (
            "two: https://a.example https://b.example/",
            f"two: https://a.example?{UTM} https://b.example/?{UTM}",
        ),
    ],
)
def test_links_get_the_three_parameters_and_keep_what_their_author_wrote(
    text: str, expected: str
) -> None:
    assert tagged(text) == expected


def test_a_utm_parameter_already_there_is_left_as_written_and_not_doubled() -> None:
    text = "https://acme.example/x?utm_source=newsletter&utm_campaign=Spring%20Sale&q=1"
    result = tagged(text)
    assert result == text + "&utm_medium=social"
    pairs = parse_qsl(urlsplit(result).query)
    assert [k for k, _ in pairs].count("utm_source") == 1
    assert dict(pairs)["utm_source"] == "newsletter"
    assert dict(pairs)["utm_campaign"] == "Spring Sale"


@pytest.mark.parametrize(
    "text",
    [
        "no links here, just acme.example/x and www.acme.example",
        "mailto:help@acme.example or ftp://acme.example/file",
        "broken http://[::1 address",
        "a bad port https://acme.example:http/x",
        "just the scheme https:// alone",
    ],
)
def test_what_is_not_a_web_link_is_left_alone(text: str) -> None:
    assert tagged(text) == text


def test_the_campaign_value_is_encoded() -> None:
    result = tag("https://acme.example", source="bluesky", campaign="a b&c")
    assert (
        result == "https://acme.example?utm_source=bluesky&utm_medium=social&utm_campaign=a+b%26c"
    )


# -- properties -------------------------------------------------------------------------------
PIECES = st.sampled_from(
    [
        "https://acme.example/x",
        "http://shop.acme.example:8080/p?a=1",
        "https://bücher.example/ä?x=%C3%A4",
        "HTTPS://ACME.example/Y#frag",
        "https://acme.example/w_(z)",
        "https://acme.example/?utm_source=x",
        "https://acme.example/p?&",
        "https://",
        "http://[::1",
    ]
)
GLUE = st.text(alphabet=" .,;:!?'\"()[]<>#&=?/\n…aZ9é", max_size=8)
TEXTS = st.lists(st.one_of(PIECES, GLUE), max_size=8).map("".join)


def _gaps(text: str) -> list[str]:
    """The text between (and around) the links."""
    out, done = [], 0
    for start, end in links(text):
        out.append(text[done:start])
        done = end
    out.append(text[done:])
    return out


@given(TEXTS)
def test_tagging_twice_is_tagging_once(text: str) -> None:
    once = tagged(text)
    assert tagged(once) == once


@given(TEXTS)
def test_the_text_outside_links_is_unchanged(text: str) -> None:
    assert _gaps(tagged(text)) == _gaps(text)


@given(TEXTS)
def test_every_link_carries_each_parameter_exactly_once(text: str) -> None:
    result = tagged(text)
    for start, end in links(result):
        address = result[start:end].partition("#")[0]
        keys = [key for key, _ in parse_qsl(urlsplit(address).query, keep_blank_values=True)]
        for key in ("utm_source", "utm_medium", "utm_campaign"):
            assert keys.count(key) == 1, (result, key)


@given(st.text(alphabet=st.characters(blacklist_characters="hH"), max_size=40))
def test_a_text_without_links_comes_back_unchanged(text: str) -> None:
    assert tagged(text) == text


def test_a_question_mark_ending_a_value_is_not_the_query_separator() -> None:
    # Found by hypothesis: "?" at the end of "a=1?" is part of the value, so the tags follow "&".
    once = tag_link("http://shop.acme.example:8080/p?a=1?#", source="mastodon", campaign="c")
    assert once == (
        "http://shop.acme.example:8080/p?a=1?&utm_source=mastodon&utm_medium=social&utm_campaign=c#"
    )
    assert tag_link(once, source="mastodon", campaign="c") == once
