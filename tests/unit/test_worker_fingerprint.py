"""What wakes an object's own worker: its spec and annotations, never kopf's bookkeeping."""

from __future__ import annotations

from rhev_operator.handlers.worker import _fingerprint


def test_kopfs_own_annotations_are_no_reason_to_reconcile() -> None:
    base = {"generation": 1, "annotations": {"rhev.io/paused": "true"}}
    kopf = {
        "generation": 1,
        "annotations": {
            "rhev.io/paused": "true",
            "rhev.io/kopf-managed": "yes",
            "rhev.io/last-handled-configuration": "{}",
        },
    }
    assert _fingerprint(base) == _fingerprint(kopf)
    assert _fingerprint(base) != _fingerprint({"generation": 2, "annotations": base["annotations"]})
    assert _fingerprint(base) != _fingerprint({"generation": 1, "annotations": {}})
