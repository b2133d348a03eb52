"""The ``takeovers:`` section of the policy: the rota of staff who take turns on an account,
and the templates of the hand-over announcement and sign-off.

Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime

from townhall.org.fields import Email, PolicyModel


class Shift(PolicyModel):
    """One person on one account from ``start`` to ``end``."""

    person: Email
    channel: str
    start: datetime
    end: datetime


class TakeoverPolicy(PolicyModel):
    """The rota and the templates."""

    announcement: str = "Today {name} from {department} runs our account. Ask them anything!"
    sign_off: str = ""
    shifts: list[Shift] = []
