"""The Python examples of the docs run, in order, in one namespace per page."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("page", ["oauth2.md", "performance.md"])
def test_examples_run(page: str) -> None:
    text = (DOCS / page).read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks
    # A real module, so SQLAlchemy can resolve a declarative model's annotations.
    module = types.ModuleType(f"docs_{page[:-3]}")
    sys.modules[module.__name__] = module
    try:
        for number, block in enumerate(blocks, 1):
            exec(compile(block, f"docs/{page} block {number}", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
