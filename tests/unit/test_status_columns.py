"""Status fields made for kubectl columns, which cannot format."""

from __future__ import annotations

import pytest

from rhev_operator.api.storagedomain import human_bytes


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (0, "0"),
        (1023, "1023"),
        (1024, "1Ki"),
        (500 * 2**30, "500Gi"),
        (3 * 2**39, "1.5Ti"),
        (int(2.25 * 2**30), "2.2Gi"),
        (2**60, "1024Pi"),
    ],
)
def test_bytes_read_like_quantities(value: int | None, text: str | None) -> None:
    assert human_bytes(value) == text
