"""The API's own OpenAPI document (the browser's pages are not an API and have none).

``python -m townhall.web.api.openapi > docs/openapi.json`` writes the published copy;
``tests/api/test_openapi.py`` checks that it equals the served one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

TITLE = "Townhall API"
VERSION = "1"
DESCRIPTION = (
    "Townhall's public REST API: items, posts, drafts, crisis rooms and the audit log, with "
    "the permissions of the person whose personal access token is sent (narrowed to the "
    "token's scopes). See docs/api.md."
)


def document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of ``routes`` (the API router's)."""
    doc = get_openapi(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        routes=list(routes),
        servers=[{"url": "/"}],
    )
    return doc


def published() -> str:
    """The document as ``docs/openapi.json`` holds it."""
    from townhall.web.api import v1

    return json.dumps(document(v1.routes), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(published(), end="")
