"""The password policy and login names."""

from __future__ import annotations

from typing import Any

import pytest

from townhall.org.passwords import (
    MIN_LENGTH,
    LoginNameError,
    WeakPasswordError,
    check_password,
    is_leaked,
    login_name,
    password_problems,
)

EMAIL, NAME = "dan.murphy@acme.example", "Dan Murphy"


@pytest.mark.parametrize("password", ["password", "12345678", "password123!", "qwerty"])
def test_common_passwords_are_leaked(password: str) -> None:
    assert is_leaked(password)


@pytest.mark.parametrize(
    "password",
    ["password123!", "Password2026!!", "iloveyou-1234", "Sunshine!!!!1", "qazwsxedcrfvtgb1"],
)
def test_a_leaked_password_is_refused_even_with_digits_and_symbols(password: str) -> None:
    assert len(password) >= MIN_LENGTH
    (problem,) = password_problems(password, email=EMAIL, name=NAME)
    assert "leaked from other sites" in problem
    assert "adding digits or symbols to it is not enough" in problem


@pytest.mark.parametrize("password", ["password", "12345678", "eleven char"])
def test_a_short_password_is_refused_with_the_rule(password: str) -> None:
    (problem,) = password_problems(password)
    assert problem.startswith(f"Use at least 12 characters (this one has {len(password)})")


def test_the_longest_password_is_the_one_a_login_accepts() -> None:
    assert password_problems("lantern orchard " * 64) == []  # 1024 characters
    assert password_problems("lantern orchard " * 64 + "x") == ["Use at most 1024 characters."]


@pytest.mark.parametrize(
    "password",
    ["dan.murphy-is-great", "MurphyLantern2026", "my name is murphy!", "dan murphy orchard"],
)
def test_the_persons_name_and_e_mail_are_refused(password: str) -> None:
    problems = password_problems(password, email=EMAIL, name=NAME)
    assert "Leave your name and your e-mail address out of the password." in problems


def test_a_short_name_part_alone_does_not_refuse_a_word_that_contains_it() -> None:
    # "abundance" contains "dan": refused only when zxcvbn finds the whole too guessable.
    assert password_problems("abundance kettle river", email=EMAIL, name=NAME) == []


@pytest.mark.parametrize("password", ["aaaaaaaaaaaaaaaa", "abcdefghijklmnop", "123456789012"])
def test_an_easily_guessed_password_is_refused_with_advice(password: str) -> None:
    problems = password_problems(password, email=EMAIL, name=NAME)
    assert any(p.startswith("This password is too easy to guess") for p in problems), problems


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "lantern orchard quietly 48", "Tr0ub4dor&3-kettle", "townhall-demo"],
)
def test_a_good_passphrase_passes(password: str) -> None:
    assert password_problems(password, email=EMAIL, name=NAME) == []
    check_password(password, email=EMAIL, name=NAME)


def test_check_password_raises_with_every_problem() -> None:
    with pytest.raises(WeakPasswordError) as caught:
        check_password("password123!")
    assert caught.value.status_code == 422
    assert caught.value.problems == password_problems("password123!")


def test_a_login_name_is_a_normalised_e_mail_address() -> None:
    assert login_name("  Dan.Murphy@ACME.example ") == EMAIL
    for bad in ("dan", "dan@acme", "dan murphy@acme.example", "@acme.example", ""):
        with pytest.raises(LoginNameError, match="A login must be an e-mail address"):
            login_name(bad)


def test_the_demo_password_passes_for_every_acme_person(acme_policy: Any) -> None:
    from townhall.cli.serve import DEMO_PASSWORD

    for person in acme_policy.people:
        assert password_problems(DEMO_PASSWORD, email=person.email, name=person.name) == []
