"""``/api/v1/crises``: rooms, their checklists, answers and status, as the policy allows."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from api.conftest import DAN, GRACE, Mint, bearer
from townhall.cases import crisis
from townhall.db import session_factory, transaction
from townhall.models import CrisisRoom
from web.conftest import Site


def _room(site: Site) -> CrisisRoom:
    with transaction(session_factory(site.engine)) as session:
        room = crisis.open_room(
            session,
            site.policy,
            story="forum:1",
            topic="product:airfry",
            title="AirFry smoke",
            now=site.clock(),
            by="system",
        )
        session.flush()
        room_id = room.id
    with session_factory(site.engine)() as session:
        found = session.scalar(select(CrisisRoom).where(CrisisRoom.id == room_id))
        assert found is not None
        return found


def test_read_answer_and_move_a_room(site: Site, client: httpx.Client, mint: Mint) -> None:
    room = _room(site)
    assert room.lead_department == "pr"
    grace = bearer(mint(GRACE, ["view", "checklist", "crisis"]))
    listed = client.get("/api/v1/crises", headers=grace)
    assert [r["id"] for r in listed.json()["crises"]] == [room.id]
    detail = client.get(f"/api/v1/crises/{room.id}", headers=grace).json()
    assert detail["checklist"]
    mine = next(e for e in detail["checklist"] if e["owner_department"] == "pr")
    answered = client.post(
        f"/api/v1/crises/{room.id}/answers/{mine['id']}",
        json={"answer": "Yes, three reports."},
        headers=grace,
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["answered_by"] == GRACE
    moved = client.post(
        f"/api/v1/crises/{room.id}/status", json={"status": "active"}, headers=grace
    )
    assert moved.status_code == 200 and moved.json()["status"] == "active"
    backwards = client.post(
        f"/api/v1/crises/{room.id}/status", json={"status": "watching"}, headers=grace
    )
    assert backwards.status_code == 409
    unresolved = client.post(
        f"/api/v1/crises/{room.id}/status", json={"status": "resolved"}, headers=grace
    )
    assert unresolved.status_code == 422
    missing = client.post(
        f"/api/v1/crises/{room.id}/answers/999999", json={"answer": "x"}, headers=grace
    )
    assert missing.status_code == 404


def test_another_department_cannot_run_the_room(
    site: Site, client: httpx.Client, mint: Mint
) -> None:
    room = _room(site)
    dan = bearer(mint(DAN, ["view", "checklist", "crisis"]))
    detail = client.get(f"/api/v1/crises/{room.id}", headers=dan)
    assert "customer_service" in room.departments
    assert detail.status_code == 200  # customer service supports the room: it sees it
    pr_question = next(e for e in detail.json()["checklist"] if e["owner_department"] == "pr")
    answer = client.post(
        f"/api/v1/crises/{room.id}/answers/{pr_question['id']}",
        json={"answer": "Not ours to say"},
        headers=dan,
    )
    assert answer.status_code == 403
    moved = client.post(f"/api/v1/crises/{room.id}/status", json={"status": "active"}, headers=dan)
    assert moved.status_code == 403
