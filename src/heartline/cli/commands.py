"""Imports every command module in this package so that each registers its commands on `app`.

A command module defines a Typer sub-app (or plain commands) and attaches it to
`heartline.cli.app` at import time; adding a module here is all it takes.
"""

from __future__ import annotations

import importlib
import pkgutil

import heartline.cli as _cli

for _module in sorted(pkgutil.iter_modules(_cli.__path__), key=lambda m: m.name):
    if _module.name != "commands" and not _module.name.startswith("_"):
        importlib.import_module(f"heartline.cli.{_module.name}")
