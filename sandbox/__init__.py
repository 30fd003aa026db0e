"""A local HTTP sandbox that behaves like Junction, Chargebee and Return Helper.

Standard library only (plus ``requests`` for sending webhooks). No Django here.
Run it with ``python -m sandbox`` or in-process with
:func:`sandbox.server.start_in_thread`.
"""

from sandbox.config import SandboxConfig

__all__ = ["SandboxConfig"]
