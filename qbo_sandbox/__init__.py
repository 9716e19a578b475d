"""A local QuickBooks Online Accounting API v3 emulator, served over HTTP (see README.md)."""

from qbo_sandbox.app import create_app

__all__ = ["create_app"]
