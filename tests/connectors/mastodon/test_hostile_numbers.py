"""Digits that are not ASCII ("²", "١٢٣") from a hostile server never reach int()."""

from __future__ import annotations

from townhall.connectors.mastodon.connector import _bookmark, _newest


def test_an_id_of_superscript_digits_is_no_cursor() -> None:
    assert _newest(["²", "110", "١٢٣"], None) == "110"
    assert _newest(["²"], None) is None
    assert _bookmark("²") is None and _bookmark("١٢٣") is None
    assert _bookmark("109876") == "109876"
