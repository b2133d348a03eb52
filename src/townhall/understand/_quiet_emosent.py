"""emosent's emoji table, without its side effect: importing emosent calls
``logging.basicConfig(level=INFO)``, which would print every library's INFO log (each HTTP
request of a listener, Alembic's plugins) on the user's terminal. Undo that here."""

from __future__ import annotations

import logging

_root = logging.getLogger()
_before = (list(_root.handlers), _root.level)

from emosent import EMOJI_SENTIMENT_DICT  # noqa: E402 - imported between the two snapshots

if not _before[0]:  # emosent configured logging itself: put the root logger back as it was
    for handler in [h for h in _root.handlers if h not in _before[0]]:
        _root.removeHandler(handler)
    _root.setLevel(_before[1])

__all__ = ["EMOJI_SENTIMENT_DICT"]
