"""The examples in docstrings run (kornia-style doctest examples)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "ssr.runtime",
    "ssr.runtime.state_buffers",
    "ssr.data_tools.format",
    "ssr.data_tools.pack",
    "ssr.data_tools.compact",
    "ssr.data_tools.importers.camera",
    "ssr.data_tools.importers.convert",
    "ssr.data_tools.importers.detect",
    "ssr.data_tools.importers.frames",
    "ssr.evaluate",
    "bench.svgf",
    "bench.fps",
    "bench.figures",
    "ssr.model.rae",
    "ssr.devices",
    "ssr.losses",
    "ssr.metrics",
    "ssr.train.synthetic",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no doctest examples"
    assert result.failed == 0
