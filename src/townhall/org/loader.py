"""Read ``policy.yaml`` into a ``Policy``, or raise ``PolicyError`` naming every problem.

Each problem reads ``FILE:LINE: field.path[i]: message``. Lines come from composing the YAML
(PyYAML nodes carry marks) and walking each pydantic error ``loc`` down the node tree.

The text is outside input (an admin's paste, a file on disk), so composing it is bounded before
any Python object is built: at most ``MAX_POLICY_CHARS`` characters, ``MAX_DEPTH`` levels of
nesting, and ``MAX_NODES`` nodes once every alias is expanded (a few anchors and aliases can
otherwise stand for millions of nodes: the "billion laughs"). Past a limit the problem names
the line where it was crossed.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from townhall.errors import PolicyError
from townhall.org.fields import Loc, format_loc
from townhall.org.policy import SKIP_CROSS_CHECKS, Policy, policy_problems

SUPPORTED_VERSION = 1

MAX_POLICY_CHARS = 1_000_000
"""Longest policy text read, in characters (ACME's is about 40,000)."""

MAX_DEPTH = 50
"""Deepest nesting of mappings and lists (ACME's policy nests 7 deep)."""

MAX_NODES = 100_000
"""Most YAML nodes (scalars, lists, mappings) once aliases are expanded (ACME's: 3,000)."""


class _TooBig(Exception):
    """The YAML crossed a limit at ``mark``."""

    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that stops composing past ``MAX_DEPTH`` or ``MAX_NODES`` (aliases
    counted at their expanded size) and refuses an alias inside its own anchor."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._expanded = 0
        self._anchored: dict[int, int] = {}  # id(anchored node) -> its expanded size
        self._max_depth = MAX_DEPTH
        self._max_nodes = MAX_NODES

    def _count(self, nodes: int, mark: yaml.Mark | None) -> None:
        self._expanded += nodes
        if self._expanded > self._max_nodes:
            raise _TooBig(
                f"the policy is too large: more than {self._max_nodes:,} values once its "
                "aliases (*name) are expanded; a policy needs far fewer (write it out, or "
                "use fewer aliases of large anchors)",
                mark,
            )

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """One node, counted (an alias at the size of what it repeats)."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            anchored = self.anchors.get(event.anchor)
            if anchored is not None:
                size = self._anchored.get(id(anchored))
                if size is None:
                    raise _TooBig(
                        f"the alias *{event.anchor} is inside its own anchor "
                        f"&{event.anchor}: a policy cannot contain itself",
                        event.start_mark,
                    )
                self._count(size, event.start_mark)
            return super().compose_node(parent, index)
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if self._depth >= self._max_depth:
            raise _TooBig(
                f"the policy nests too deeply: more than {self._max_depth} levels here; a "
                "policy needs far fewer (ACME's nests 7)",
                event.start_mark,
            )
        before = self._expanded
        self._count(1, event.start_mark)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if getattr(event, "anchor", None) is not None:
            self._anchored[id(node)] = self._expanded - before
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML's constructors trip over some explicitly tagged values (``!!bool x``,
        ``!!int ''``, ``!!timestamp x``) with plain Python errors: name the value's line."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
            tag = node.tag.rsplit(":", 1)[-1]
            detail = f": {exc}" if isinstance(exc, ValueError) and str(exc) else ""
            if "digits" in detail:  # Python's own limit, with advice meant for programmers
                detail = ": the number has too many digits"
            raise yaml.constructor.ConstructorError(
                None, None, f"this value cannot be read as {tag}{detail}", node.start_mark
            ) from None


def load_policy(path: Path) -> Policy:
    """Load and validate a policy file; raises ``PolicyError`` listing every problem found."""
    name = str(path)
    try:
        text = read_policy_text(path)
    except FileNotFoundError:
        raise PolicyError([f"{name}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([f"{name}: cannot read the file: {exc}"]) from None
    return parse_policy(text, name)


def read_policy_text(path: Path) -> str:
    """The text of a policy file, read no further than one character past
    ``MAX_POLICY_CHARS`` (enough for ``parse_policy`` to refuse it), whatever its size."""
    with path.open(encoding="utf-8") as file:
        return file.read(MAX_POLICY_CHARS + 1)


def parse_policy(text: str, name: str = "policy.yaml") -> Policy:
    """Validate policy YAML text; ``name`` is used in error messages."""
    if len(text) > MAX_POLICY_CHARS:
        raise PolicyError(
            [
                f"{name}: the policy is too long (more than {MAX_POLICY_CHARS:,} characters; "
                "ACME's is about 40,000)"
            ]
        )
    try:
        root, data = _compose(text)
    except _TooBig as exc:
        line = exc.mark.line + 1 if exc.mark is not None else 1
        raise PolicyError([f"{name}:{line}: {exc.message}"]) from None
    except yaml.MarkedYAMLError as exc:
        raise PolicyError([_yaml_problem(name, exc)]) from None
    except yaml.YAMLError as exc:  # unmarked errors are rare (e.g. reader errors)
        raise PolicyError([f"{name}: YAML syntax error: {exc}"]) from None
    except RecursionError:
        raise PolicyError([f"{name}: the YAML nests too deeply to be a policy"]) from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise PolicyError([f"{name}: cannot be read: {exc}"]) from None

    if root is None:
        raise PolicyError([f"{name}:1: the file is empty (expected a mapping with version: 1)"])
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        found = type(data).__name__ if data is not None else "null"
        raise PolicyError(
            [
                f"{name}:{root.start_mark.line + 1}: top level must be a mapping of sections "
                f"(version, brand, channels, ...), found {found}"
            ]
        )

    version = data.get("version")
    if "version" in data and (type(version) is not int or version != SUPPORTED_VERSION):
        line = _line(root, ("version",))
        raise PolicyError(
            [
                f"{name}:{line}: version: unsupported policy version {version!r} "
                f"(valid: {SUPPORTED_VERSION})"
            ]
        )

    problems: list[tuple[int, str]] = list(_duplicate_keys(root, ()))
    policy: Policy | None = None
    try:
        policy = Policy.model_validate(data, context={SKIP_CROSS_CHECKS: True})
    except ValidationError as exc:
        for error in exc.errors():
            loc: Loc = tuple(error["loc"])
            problems.append((_line(root, loc), _where(loc, _message(error))))
    try:
        cross = policy_problems(data)
    except (TypeError, AttributeError, KeyError, ValueError):
        # The cross-checks read the raw data; data that already failed validation may trip
        # them over, and then they have nothing to add. On valid data it is a bug: raise.
        if not problems:
            raise
        cross = []
    for loc, message in cross:
        problems.append((_line(root, loc), _where(loc, message)))

    if problems or policy is None:
        ordered = sorted(dict.fromkeys(problems), key=lambda p: p[0])
        raise PolicyError([f"{name}:{line}: {text}" for line, text in ordered])
    return policy


def _compose(text: str) -> tuple[yaml.Node | None, Any]:
    # SafeLoader: plain data only, no arbitrary Python tags. One parse gives nodes and data,
    # and the node tree is bounded before any of it becomes Python objects.
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def _yaml_problem(name: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    if isinstance(exc, yaml.constructor.ConstructorError):
        unknown_tag = "constructor for the tag" in str(exc.problem)
        hint = " (only plain YAML data is allowed)" if unknown_tag else ""
        return f"{name}:{line}: YAML error: {exc.problem}{hint}"
    detail = exc.problem or "invalid YAML"
    if exc.context:
        detail = f"{detail} ({exc.context})"
    return f"{name}:{line}: YAML syntax error: {detail}"


def _duplicate_keys(node: yaml.Node, loc: Loc) -> list[tuple[int, str]]:
    """Keys repeated in one mapping: PyYAML would silently keep only the last."""
    problems: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            line = key.start_mark.line + 1
            if key.value in first:
                problems.append(
                    (
                        line,
                        _where(
                            (*loc, key.value),
                            f"duplicate key (also on line {first[key.value]}; keep one)",
                        ),
                    )
                )
            else:
                first[key.value] = line
            problems += _duplicate_keys(value, (*loc, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*loc, i))
    return problems


def _line(root: yaml.Node, loc: Loc) -> int:
    """The 1-based line of the node at ``loc``, or of its nearest existing parent."""
    node, line = root, root.start_mark.line
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [
                (k, v)
                for k, v in node.value
                if isinstance(k, yaml.ScalarNode) and k.value == str(part)
            ]
            if not match:
                break
            key, node = match[-1]  # the last one wins, as in the loaded data
            line = key.start_mark.line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 1


def _where(loc: Loc, message: str) -> str:
    path = format_loc(loc)
    return f"{path}: {message}" if path else message


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    loc: Loc = tuple(error["loc"])
    value = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind == "missing":
        return "missing required field"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        if model is None:
            return "unknown field"
        return f"unknown field (valid fields: {', '.join(model.model_fields)})"
    if kind in ("enum", "literal_error"):
        return f"invalid value {value!r} (valid: {ctx.get('expected', '?')})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "too_short" and isinstance(value, list):
        return "must not be empty"
    message = error["msg"]
    if isinstance(value, str | int | float | bool) or value is None:
        message += f", got {value!r}"
    return message


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that validates the data found at ``loc`` under ``Policy``."""
    current: Any = Policy
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            if get_origin(current) is not list:
                return None
            current = get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation
