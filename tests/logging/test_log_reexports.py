"""sipyco 1.10's logs module hands out AsyncioServer and TaskObject too
(programs subclass them from there).  Both module names give asyncio_tools'
own objects, so everything tested of those holds for them."""

from __future__ import annotations

import pytest

import sipyco.asyncio_tools
import sipyco.logging_tools
import sipyco.logs


@pytest.mark.parametrize("module", [sipyco.logs, sipyco.logging_tools])
@pytest.mark.parametrize("name", ["AsyncioServer", "TaskObject"])
def test_the_asyncio_tools_objects_are_exported(module, name):
    assert name in module.__all__
    assert getattr(module, name) is getattr(sipyco.asyncio_tools, name)
    namespace: dict = {}
    exec(f"from {module.__name__} import *", namespace)
    assert namespace[name] is getattr(sipyco.asyncio_tools, name)


def test_both_names_export_the_same_list():
    assert sipyco.logs.__all__ == sipyco.logging_tools.__all__

