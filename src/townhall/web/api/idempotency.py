"""``Idempotency-Key`` on every API write, and the audit event of each write.

A write sent with a key stores its answer under (token, key) in the same transaction as the
change itself. The same key again within ``KEEP`` with the same request (method, path, query
and body) gets that first answer back, status and body, without doing anything again; with
another request it is refused (422). While the first request still runs, a second one with
its key gets 409. A request that fails with an error stores nothing: it may be retried with
the same key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townhall.audit import record
from townhall.errors import ConflictError, InputError
from townhall.models import ApiIdempotency
from townhall.web.api.auth import ApiPermit, ApiPermitDep
from townhall.web.api.errors import Replayed
from townhall.web.auth import DbSession
from townhall.web.context import state

KEEP = timedelta(hours=24)
"""How long a key's first answer is kept."""

MAX_KEY = 200
"""Longest key accepted, in characters."""

REPLAYED_HEADER = "Idempotent-Replayed"


async def request_digest(request: Request) -> str:
    """SHA-256 of what the request asks: method, path, query and body."""
    body = await request.body()
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(body)
    return digest.hexdigest()


@dataclass
class ApiWrite:
    """One write through the API: its key's stored answer and its audit event."""

    request: Request
    session: Session
    person: ApiPermit
    row: ApiIdempotency | None

    @property
    def key(self) -> str | None:
        """The request's ``Idempotency-Key`` (None without one)."""
        return self.row.key if self.row is not None else None

    def done(self, status: int, body: BaseModel, *, what: str) -> JSONResponse:
        """Answer ``body`` with ``status``; keep the answer under the key and audit the
        write (``what`` says what it did, for the log)."""
        content = body.model_dump(mode="json")
        if self.row is not None:
            self.row.status_code = status
            self.row.response_body = content
        token = self.person.token
        record(
            self.session,
            at=state(self.request).clock(),
            actor=self.person.user.email,
            action="api.write",
            subject_type="api_token",
            subject_id=token.id if token is not None else "",
            why=f"{self.request.method} {self.request.url.path}: {what}"[:500],
            details={"status": status, "idempotency_key": self.key},
        )
        return JSONResponse(content, status_code=status)

    def commit_first(self) -> None:
        """Commit now (the key's placeholder included), for a write that runs in
        transactions of its own (posts go through the pipeline)."""
        self.session.commit()

    def abandon(self) -> None:
        """Forget the key's placeholder after a failure, so that the key may be retried."""
        self.session.rollback()
        if self.row is not None:
            self.session.execute(delete(ApiIdempotency).where(ApiIdempotency.id == self.row.id))
            self.session.commit()


def api_write(
    request: Request,
    session: DbSession,
    person: ApiPermitDep,
    digest: Annotated[str, Depends(request_digest)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=MAX_KEY,
            description="Any unique string (a UUID): a repeat within 24 h gets the first answer.",
        ),
    ] = None,
) -> ApiWrite:
    """The request's ``ApiWrite`` (a dependency of every POST); raises ``Replayed`` with the
    first answer when the key was seen with the same request."""
    token = person.token
    if idempotency_key is None or token is None:
        return ApiWrite(request, session, person, None)
    key = idempotency_key.strip()
    if not key or not key.isprintable():
        raise InputError("Idempotency-Key: must be printable characters, 1 to 200 of them.")
    now = state(request).clock()
    session.execute(
        delete(ApiIdempotency).where(
            ApiIdempotency.token_id == token.id, ApiIdempotency.created_at <= now - KEEP
        )
    )
    row = session.scalar(
        select(ApiIdempotency).where(ApiIdempotency.token_id == token.id, ApiIdempotency.key == key)
    )
    if row is not None:
        if row.request_hash != digest:
            raise InputError(
                "Idempotency-Key: this key was used for another request (a different method, "
                "address or body) in the last 24 hours; use a new key for a new request."
            )
        if row.status_code == 0:
            raise ConflictError(
                "A request with this Idempotency-Key is still running; ask again in a moment."
            )
        raise Replayed(
            JSONResponse(
                row.response_body,
                status_code=row.status_code,
                headers={REPLAYED_HEADER: "true"},
            )
        )
    row = ApiIdempotency(
        token_id=token.id,
        key=key,
        request_hash=digest,
        status_code=0,
        response_body={},
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise ConflictError(
            "A request with this Idempotency-Key is still running; ask again in a moment."
        ) from None
    return ApiWrite(request, session, person, row)


ApiWriteDep = Annotated[ApiWrite, Depends(api_write)]
