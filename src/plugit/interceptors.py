"""Interceptors: code that runs around every action (authorisation, caching, logging, ...).

An interceptor is `async def interceptor(call, call_next)`: it may inspect `call.request`,
`call.action` and `call.kwargs`, answer by itself (return a result or `abort(...)`), or
`await call_next()` to run the rest of the chain and the action, and change what it returned.
Interceptors run in the order they were added; the first added is the outermost.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from plugit.actions import ActionSpec
from plugit.request import Request

__all__ = ["ActionCall", "CallNext", "Handler", "Interceptor", "chain", "logging_interceptor"]

CallNext = Callable[[], Awaitable[Any]]


@dataclasses.dataclass(frozen=True)
class ActionCall:
    """One call of an action: the request, the action's spec and its route variables."""

    request: Request
    action: ActionSpec
    kwargs: dict[str, Any]


Interceptor = Callable[[ActionCall, CallNext], Awaitable[Any]]
Handler = Callable[[ActionCall], Awaitable[Any]]


async def invoke(call: ActionCall) -> Any:
    """Run the action itself: coroutines on the loop, plain functions in the thread pool."""
    func = call.action.func
    if inspect.iscoroutinefunction(func):
        return await func(call.request, **call.kwargs)
    return await run_in_threadpool(func, call.request, **call.kwargs)


def chain(interceptors: Sequence[Interceptor], innermost: Handler = invoke) -> Handler:
    """Compose interceptors around `innermost` once, so a call costs no list walking."""
    handler = innermost
    for interceptor in reversed(interceptors):
        handler = functools.partial(_around, interceptor, handler)
    return handler


async def _around(interceptor: Interceptor, next_handler: Handler, call: ActionCall) -> Any:
    return await interceptor(call, functools.partial(next_handler, call))


def logging_interceptor(logger: logging.Logger | None = None) -> Interceptor:
    """Log each action call with its duration (an example of an interceptor, ready to use)."""
    log = logger or logging.getLogger("plugit.actions")

    async def log_call(call: ActionCall, call_next: CallNext) -> Any:
        started = time.perf_counter()
        try:
            return await call_next()
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.info(
                "%s %s -> %s in %.1f ms",
                call.request.method,
                call.request.path,
                call.action.name,
                elapsed,
            )

    return log_call
