"""Test a service the way a proxy calls it, without running a proxy."""

from plugit.testing._server import LiveServer

__all__ = ["LiveServer"]
