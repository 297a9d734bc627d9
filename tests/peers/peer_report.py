"""The one way the Python MCP peers end: the run's report as one JSON line on
stdout and exit 0, or every cause of a failure on stderr and exit 1."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, Coroutine


def report_or_fail(run: Coroutine[Any, Any, Any], who: str = "python MCP client") -> int:
    try:
        report = asyncio.run(run)
    except BaseException as exc:  # noqa: BLE001 - any failure is a protocol failure here
        print(f"{who} failed: {exc!r}", file=sys.stderr)
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                print(f"  caused by: {inner!r}", file=sys.stderr)
        return 1
    print(json.dumps(report))
    return 0
