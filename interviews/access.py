"""Who may do what: the one place where role and organisation scope are decided.

Handlers describe the act (an `Action` and the organisation it touches) and call
`authorize`; no handler compares roles itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from interviews.accounts import Role, User


class Action(StrEnum):
    """Acts that need permission."""

    DIRECTORY_READ = "directory.read"
    DIRECTORY_CREATE = "directory.create"
    DIRECTORY_EDIT = "directory.edit"
    DIRECTORY_IMPORT = "directory.import"
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"
    CASE_CREATE = "case.create"
    CASE_READ = "case.read"
    CASE_EDIT = "case.edit"
    CASE_STATUS = "case.status"
    CASE_SHARE = "case.share"
    CASE_QUEUE = "case.queue"
    DOCUMENT_UPLOAD = "document.upload"
    DOCUMENT_READ = "document.read"
    SCHEDULE_CONSULATE = "schedule.consulate"
    SCHEDULE_ROOMS = "schedule.rooms"
    SCHEDULE_INTERPRETER = "schedule.interpreter"
    SLOT_SEARCH = "slot.search"
    INTERVIEW_REQUEST = "interview.request"
    INTERVIEW_RESPOND = "interview.respond"
    INTERVIEW_CHANGE = "interview.change"
    INTERVIEW_READ = "interview.read"
    CALENDAR_FACILITY = "calendar.facility"
    CALENDAR_CONSULATE = "calendar.consulate"
    CALENDAR_INTERPRETER = "calendar.interpreter"
    SESSION_JOIN = "session.join"
    AUDIT_EXPORT = "audit.export"
    QUESTIONNAIRE_READ = "questionnaire.read"
    QUESTIONNAIRE_EDIT = "questionnaire.edit"
    QUESTIONNAIRE_ANSWER = "questionnaire.answer"
    QUESTIONNAIRE_RESULT = "questionnaire.result"
    RECORDING_PLAY = "recording.play"
    CASE_HOLD = "case.hold"
    OUTCOME_RECORD = "outcome.record"
    SUMMARY_READ = "summary.read"
    SUMMARY_ACKNOWLEDGE = "summary.acknowledge"
    STATS_READ = "stats.read"
    STATS_EXPORT = "stats.export"
    STATS_IMPORT = "stats.import"
    RETENTION_READ = "retention.read"


@dataclass(frozen=True)
class Actor:
    """The signed-in caller as the rules see it."""

    user_id: int
    name: str
    role: Role
    facility_id: int | None = None
    consulate_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        """The actor for a user row."""
        return cls(
            user_id=user.id,
            name=user.name,
            role=Role(user.role),
            facility_id=user.facility_id,
            consulate_id=user.consulate_id,
        )

    @property
    def organisation(self) -> str:
        """A short label of the caller's organisation, for the audit log."""
        if self.facility_id is not None:
            return f"facility:{self.facility_id}"
        if self.consulate_id is not None:
            return f"consulate:{self.consulate_id}"
        return ""


class NotSignedIn(PermissionError):
    """The act needs a signed-in user."""


class Forbidden(PermissionError):
    """The caller is signed in but may not do this."""

    def __init__(self, action: Action, reason: str) -> None:
        super().__init__(reason)
        self.action = action
        self.reason = reason


# Roles allowed each act at all; organisation scope is checked after this.
_ROLES: dict[Action, frozenset[Role]] = {
    Action.DIRECTORY_READ: frozenset(Role),
    Action.DIRECTORY_CREATE: frozenset({Role.ADMIN}),
    Action.DIRECTORY_EDIT: frozenset({Role.ADMIN, Role.CONSUL}),
    Action.DIRECTORY_IMPORT: frozenset({Role.ADMIN}),
    Action.USERS_MANAGE: frozenset({Role.ADMIN}),
    Action.AUDIT_READ: frozenset({Role.ADMIN}),
    # Cases: consuls read only cases shared with them (interviews.case_access decides which).
    Action.CASE_CREATE: frozenset({Role.ADMIN, Role.STAFF}),
    Action.CASE_READ: frozenset({Role.ADMIN, Role.STAFF, Role.CONSUL}),
    Action.CASE_EDIT: frozenset({Role.ADMIN, Role.STAFF}),
    Action.CASE_STATUS: frozenset({Role.ADMIN, Role.STAFF}),
    Action.CASE_SHARE: frozenset({Role.ADMIN, Role.STAFF}),
    Action.CASE_QUEUE: frozenset({Role.ADMIN, Role.STAFF}),
    Action.DOCUMENT_UPLOAD: frozenset({Role.ADMIN, Role.STAFF}),
    Action.DOCUMENT_READ: frozenset({Role.ADMIN, Role.STAFF, Role.CONSUL}),
    # Scheduling: each party edits its own availability; staff book, consuls answer.
    Action.SCHEDULE_CONSULATE: frozenset({Role.ADMIN, Role.CONSUL}),
    Action.SCHEDULE_ROOMS: frozenset({Role.ADMIN, Role.STAFF}),
    Action.SCHEDULE_INTERPRETER: frozenset({Role.ADMIN, Role.INTERPRETER}),
    Action.SLOT_SEARCH: frozenset({Role.ADMIN, Role.STAFF}),
    Action.INTERVIEW_REQUEST: frozenset({Role.ADMIN, Role.STAFF}),
    Action.INTERVIEW_RESPOND: frozenset({Role.ADMIN, Role.CONSUL}),
    Action.INTERVIEW_CHANGE: frozenset({Role.ADMIN, Role.STAFF, Role.CONSUL}),
    Action.INTERVIEW_READ: frozenset(Role),
    Action.CALENDAR_FACILITY: frozenset({Role.ADMIN, Role.STAFF}),
    Action.CALENDAR_CONSULATE: frozenset({Role.ADMIN, Role.CONSUL}),
    Action.CALENDAR_INTERPRETER: frozenset({Role.ADMIN, Role.INTERPRETER}),
    # Live sessions: a signed-in user not on the interview may knock (the host admits)
    # only within their own consulate or facility; interpreters only where assigned.
    Action.SESSION_JOIN: frozenset(Role),
    Action.AUDIT_EXPORT: frozenset({Role.ADMIN}),
    # Questionnaires: a consulate's consuls (and admins) define it; only a consul of the
    # consulate a case is shared with answers it; the case's staff read the result.
    Action.QUESTIONNAIRE_READ: frozenset(Role),
    Action.QUESTIONNAIRE_EDIT: frozenset({Role.ADMIN, Role.CONSUL}),
    Action.QUESTIONNAIRE_ANSWER: frozenset({Role.CONSUL}),
    Action.QUESTIONNAIRE_RESULT: frozenset({Role.ADMIN, Role.STAFF, Role.CONSUL}),
    # Playback of a session's recording and transcript: the consuls of the interview's
    # consulate (while the case is shared with it) and the facility's staff. Not admins:
    # they run the platform, not the cases, and read the audit log instead. Not
    # interpreters: they took part, but keep no copy of what was said.
    Action.RECORDING_PLAY: frozenset({Role.STAFF, Role.CONSUL}),
    # Legal holds suspend retention for a case: the facility's staff or an admin.
    Action.CASE_HOLD: frozenset({Role.ADMIN, Role.STAFF}),
    # Outcomes and summaries: the consul of the interview's consulate records the outcome;
    # that consulate's consuls and the facility's staff read the summary. Interpreters do
    # not: it holds the case, the questionnaire result and the outcome, which interpreting
    # does not need (as with cases, which interpreters do not see either). Acknowledging
    # also needs the person to have taken part (interviews.summary_acknowledgements).
    Action.OUTCOME_RECORD: frozenset({Role.CONSUL}),
    Action.SUMMARY_READ: frozenset({Role.ADMIN, Role.STAFF, Role.CONSUL}),
    Action.SUMMARY_ACKNOWLEDGE: frozenset({Role.STAFF, Role.CONSUL}),
    # Statistics (aggregates only, small counts suppressed): admins see everything; staff
    # their own facility; consuls the people of their consulate's nationality, in every
    # facility. Exports leave the installation and imports change the regional figures,
    # so only admins make them (see `statistics_scope`).
    Action.STATS_READ: frozenset({Role.ADMIN, Role.STAFF, Role.CONSUL}),
    Action.STATS_EXPORT: frozenset({Role.ADMIN}),
    Action.STATS_IMPORT: frozenset({Role.ADMIN}),
    # Retention runs the platform, not a case: what the periods are and what the next run
    # would delete (case references only) is for admins.
    Action.RETENTION_READ: frozenset({Role.ADMIN}),
}


def authorize(
    actor: Actor | None,
    action: Action,
    *,
    consulate_id: int | None = None,
    facility_id: int | None = None,
    user_id: int | None = None,
) -> Actor:
    """Return the actor if it may do `action` on the given organisation, else raise.

    `user_id` names the person the act concerns (an interpreter's own profile, calendar or
    interview); an interpreter may act only where it is their own id.
    """
    if actor is None:
        raise NotSignedIn(action.value)
    if actor.role not in _ROLES[action]:
        raise Forbidden(action, f"role {actor.role.value} may not {action.value}")
    if actor.role is Role.ADMIN:
        return actor
    if (
        consulate_id is not None
        and actor.role is Role.CONSUL
        and actor.consulate_id != consulate_id
    ):
        raise Forbidden(action, "this belongs to another consulate")
    if facility_id is not None and actor.role is Role.STAFF and actor.facility_id != facility_id:
        raise Forbidden(action, "this belongs to another facility")
    if user_id is not None and actor.role is Role.INTERPRETER and actor.user_id != user_id:
        raise Forbidden(action, "this belongs to someone else")
    return actor


@dataclass(frozen=True)
class StatisticsScope:
    """The part of the statistics a caller may see: None means no restriction."""

    facility_id: int | None = None
    nationality: str | None = None


def statistics_scope(actor: Actor | None, *, consulate_country: str | None) -> StatisticsScope:
    """What `actor` may see of the statistics; `consulate_country` is their consulate's country.

    Staff see their facility only; consuls only people of the nationality their consulate
    represents (aggregated, suppressed), wherever they are held; admins everything.
    """
    actor = authorize(actor, Action.STATS_READ)
    if actor.role is Role.STAFF:
        if actor.facility_id is None:
            raise Forbidden(Action.STATS_READ, "the staff member has no facility")
        return StatisticsScope(facility_id=actor.facility_id)
    if actor.role is Role.CONSUL:
        if consulate_country is None:
            raise Forbidden(Action.STATS_READ, "the consul's consulate is unknown")
        return StatisticsScope(nationality=consulate_country)
    return StatisticsScope()
