"""Read ``policy.yaml`` into a ``Policy``, or raise ``PolicyError`` naming every problem.

Each problem reads ``FILE:LINE: field.path[i]: message``. Lines come from composing the YAML
(PyYAML nodes carry marks) and walking each pydantic error ``loc`` down the node tree.
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


def load_policy(path: Path) -> Policy:
    """Load and validate a policy file; raises ``PolicyError`` listing every problem found."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError([f"{name}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([f"{name}: cannot read the file: {exc}"]) from None
    return parse_policy(text, name)


def parse_policy(text: str, name: str = "policy.yaml") -> Policy:
    """Validate policy YAML text; ``name`` is used in error messages."""
    try:
        root, data = _compose(text)
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
    for loc, message in policy_problems(data):
        problems.append((_line(root, loc), _where(loc, message)))

    if problems or policy is None:
        ordered = sorted(dict.fromkeys(problems), key=lambda p: p[0])
        raise PolicyError([f"{name}:{line}: {text}" for line, text in ordered])
    return policy


def _compose(text: str) -> tuple[yaml.Node | None, Any]:
    # SafeLoader: plain data only, no arbitrary Python tags. One parse gives nodes and data.
    loader = yaml.SafeLoader(text)
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
        return f"{name}:{line}: YAML error: {exc.problem} (only plain YAML data is allowed)"
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
