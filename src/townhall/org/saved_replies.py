"""The ``saved_replies:`` section of the policy: a department's canned answers, in the
languages it writes them in.

```yaml
saved_replies:
  - id: replacement_sent
    name: Replacement on its way
    department: customer_service
    text:
      en: "Sorry about that, {first_name}. A replacement is on its way; {agent} from {department}."
      de: "Das tut uns leid, {first_name}. Ersatz ist unterwegs; {agent} vom Team {department}."
```

The first language is the one used when the conversation's language has no version. The
placeholders are those in ``PLACEHOLDERS``; a saved reply is a start, not a send: it goes into
the reply box, where the agent edits it, and through the code of conduct and approvals as any
reply. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator

from townhall.org.fields import Id, Loc, PolicyModel, items_of, unique_ids
from townhall.org.takeovers import template_problem

PLACEHOLDERS: dict[str, str] = {
    "first_name": "the author's first name (their handle when they give no name)",
    "name": "the author's name",
    "agent": "the first name of the person replying",
    "department": "the replying department's name",
}
"""The placeholders a saved reply may use, and what each becomes."""

MAX_TEXT = 2_000
_LANGUAGE = re.compile(r"[a-z]{2,3}")


def _check_language(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise ValueError(f"{value!r} is not a language code (two or three letters: en, de, pt)")
    return value


Language = Annotated[str, AfterValidator(_check_language)]


class SavedReply(PolicyModel):
    """One canned answer of a department, by language (the first is the default)."""

    id: Id
    name: str = Field(min_length=1, max_length=100)
    department: str
    text: dict[Language, str] = Field(min_length=1)

    @field_validator("text")
    @classmethod
    def _texts(cls, value: dict[str, str]) -> dict[str, str]:
        for language, text in value.items():
            if not text.strip():
                raise ValueError(f"the {language} text is empty")
            if len(text) > MAX_TEXT:
                raise ValueError(f"the {language} text has over {MAX_TEXT:,} characters")
            problem = template_problem(text, PLACEHOLDERS)
            if problem:
                raise ValueError(f"{language}: {problem}")
        return value

    @property
    def languages(self) -> list[str]:
        """The languages it is written in, the default first."""
        return list(self.text)

    def language_for(self, conversation: str | None) -> str:
        """The version to use in a conversation in ``conversation`` (``en-GB`` reads as
        ``en``): that language when written, else the default."""
        spoken = primary(conversation)
        return spoken if spoken in self.text else self.languages[0]


def primary(language: str | None) -> str:
    """The primary language of a tag (``en-GB`` and ``en_GB`` are ``en``; none is "")."""
    return (language or "").split("-")[0].split("_")[0].strip().lower()


def fill(reply: SavedReply, language: str, values: Mapping[str, str]) -> str:
    """The text of ``reply`` in ``language`` (one of its own) with the placeholders filled in
    from ``values`` (a missing value becomes empty). Values are inserted as they are: braces
    in an author's name are not read as placeholders."""
    return reply.text[language].format_map({name: values.get(name, "") for name in PLACEHOLDERS})


def first_name(name: str, handle: str) -> str:
    """The first word of a display name, else the handle without its ``@`` and server."""
    words = name.split()
    if words:
        return words[0]
    return handle.lstrip("@").split("@")[0] or handle


def for_department(replies: list[SavedReply], department: str) -> list[SavedReply]:
    """The saved replies of ``department``, by name."""
    return sorted((r for r in replies if r.department == department), key=lambda r: r.name)


def saved_reply_problems(data: Mapping[str, Any], departments: set[str]) -> list[tuple[Loc, str]]:
    """Unknown departments and repeated ids."""
    found = items_of(data, "saved_replies")
    problems = unique_ids("saved_replies", found)
    valid = ", ".join(sorted(departments))
    for i, reply in found:
        department = reply.get("department")
        if isinstance(department, str) and department not in departments:
            problems.append(
                (
                    ("saved_replies", i, "department"),
                    f"unknown department {department!r} (valid: {valid})",
                )
            )
    return problems
