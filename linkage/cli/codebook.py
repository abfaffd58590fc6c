"""`reglink codebook` commands (placeholder until implemented)."""

from linkage.cli.app import app  # noqa: F401
