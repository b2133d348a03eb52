"""Signatures: what Townhall signs, a receiver verifies, within the time tolerance only."""

from __future__ import annotations

import hashlib
import hmac

from townhall.webhooks.signing import (
    hub_signature,
    new_secret,
    sign,
    verify_hub_signature,
    verify_signature,
)

BODY = b'{"id":"0b6f","event":"item.routed","data":{"item_id":7}}'
T = 1_795_000_000


def test_a_signature_verifies_with_its_secret_body_and_time():
    secret = new_secret()
    header = sign(secret, BODY, T)

    assert header.startswith(f"t={T},v1=")
    assert verify_signature(secret, header, BODY, now=T + 10)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # What docs/webhooks.md tells receivers to compute, independently of the helper.
    secret = "whsec_test"
    expected = hmac.new(secret.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert sign(secret, BODY, T) == f"t={T},v1={expected}"


def test_a_changed_body_wrong_secret_or_missing_header_does_not_verify():
    secret = new_secret()
    header = sign(secret, BODY, T)

    assert not verify_signature(secret, header, BODY.replace(b"7", b"8"), now=T)
    assert not verify_signature(new_secret(), header, BODY, now=T)
    assert not verify_signature(secret, None, BODY, now=T)
    assert not verify_signature(secret, "", BODY, now=T)
    assert not verify_signature(secret, "v1=abc", BODY, now=T)
    assert not verify_signature(secret, f"t={T}", BODY, now=T)
    assert not verify_signature(secret, "t=x" * 5000, BODY, now=T)


def test_the_timestamp_is_signed_too():
    secret = new_secret()
    mac = sign(secret, BODY, T).split("v1=")[1]

    # The same MAC with a fresher timestamp is refused: replaying later needs a new signature.
    assert not verify_signature(secret, f"t={T + 1000},v1={mac}", BODY, now=T + 1000)


def test_tolerance_refuses_old_and_far_future_signatures():
    secret = new_secret()
    header = sign(secret, BODY, T)

    assert verify_signature(secret, header, BODY, now=T + 300)
    assert not verify_signature(secret, header, BODY, now=T + 301)
    assert verify_signature(secret, header, BODY, now=T - 300)
    assert not verify_signature(secret, header, BODY, now=T - 301)
    assert verify_signature(secret, header, BODY, now=T + 3600, tolerance=3600)


def test_any_matching_v1_is_enough_during_a_secret_rollover():
    old, new = new_secret(), new_secret()
    header = sign(old, BODY, T) + "," + sign(new, BODY, T).split(",")[1]

    assert verify_signature(old, header, BODY, now=T)
    assert verify_signature(new, header, BODY, now=T)


def test_github_style_hub_signature():
    secret = "s3cret"
    header = hub_signature(secret, BODY)

    assert header == "sha256=" + hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    assert verify_hub_signature(secret, header, BODY)
    assert verify_hub_signature(secret, header.upper().replace("SHA256", "sha256"), BODY)
    assert not verify_hub_signature(secret, header, BODY + b" ")
    assert not verify_hub_signature("other", header, BODY)
    assert not verify_hub_signature(secret, None, BODY)
    assert not verify_hub_signature(secret, "sha1=" + header[7:], BODY)
    assert not verify_hub_signature(secret, "sha256=", BODY)
    assert not verify_hub_signature(secret, "sha256=é", BODY)


def test_the_receiver_example_in_the_docs_verifies_what_townhall_signs():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text("utf-8")
    code = next(
        block.split("```", 1)[0]
        for block in doc.split("```python\n")[1:]
        if "def verify_signature" in block
    )
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - our own docs
    verify = namespace["verify_signature"]
    secret = new_secret()

    assert verify(secret, sign(secret, BODY, T), BODY, now=T + 5)
    assert not verify(secret, sign(secret, BODY, T), BODY + b"x", now=T + 5)
    assert not verify(secret, sign(secret, BODY, T), BODY, now=T + 301)
    assert not verify(secret, "", BODY, now=T)
