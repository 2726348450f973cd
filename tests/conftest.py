"""Shared pytest helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(rel: str) -> Path:
    """A path under `../shared` (beside the checkout); skips the test when it is absent, fails under CI=true."""
    path = SHARED_DIR / rel
    if not path.exists():
        reason = f"../shared/{rel} がありません（{path}）: 共有データのあるチェックアウトでのみ実行します"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true ですが {reason}")
        pytest.skip(reason)
    return path
