"""The examples in docs/jwt.md run, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "jwt.md"


def test_docs_examples_run() -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)
    assert len(blocks) >= 8
    namespace: dict[str, object] = {"__name__": "docs_jwt"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/jwt.md block {number}", "exec"), namespace)
