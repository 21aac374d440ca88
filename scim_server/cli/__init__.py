"""The ``scim-server`` command: the operator's composition root (DESIGN §2 and §9)."""

from scim_server.cli.main import main

__all__ = ["main"]
