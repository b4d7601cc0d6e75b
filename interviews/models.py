"""Every table consulink has, imported in one place for Alembic and for tests.

Add a module here when it declares tables; migrations are generated from this metadata.
"""

from interviews.accounts import ApiToken, LoginSession, User
from interviews.audit import AuditEvent
from interviews.consulates import (
    Consulate,
    ConsulateEvidence,
    ConsulateJurisdiction,
    ConsulateLanguage,
)
from interviews.db import Base
from interviews.facilities import Facility

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "Consulate",
    "ConsulateEvidence",
    "ConsulateJurisdiction",
    "ConsulateLanguage",
    "Facility",
    "LoginSession",
    "User",
]
