"""A faithful local emulator of the Auth0 Management API subset the provisioning calls.

Used by the tests, by ``scim-server serve --sandbox`` and standalone with
``python -m scim_server.sandbox --port 8123``. It is a Starlette application with in-memory state;
auth0.md §9 is its fidelity checklist.
"""

from scim_server.sandbox.app import Emulator
from scim_server.sandbox.app import create_emulator_app
from scim_server.sandbox.calls import CallLog
from scim_server.sandbox.calls import CallRecord
from scim_server.sandbox.faults import Fault
from scim_server.sandbox.faults import FaultInjector
from scim_server.sandbox.seeding import DEFAULT_DATABASE
from scim_server.sandbox.seeding import DEMO
from scim_server.sandbox.seeding import seed_tenant
from scim_server.sandbox.tenant import Tenant

__all__ = [
    "DEFAULT_DATABASE",
    "DEMO",
    "CallLog",
    "CallRecord",
    "Emulator",
    "Fault",
    "FaultInjector",
    "Tenant",
    "create_emulator_app",
    "seed_tenant",
]
