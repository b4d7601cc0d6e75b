"""Every table consulink has, imported in one place for Alembic and for tests.

Add a module here when it declares tables; migrations are generated from this metadata.
"""

from interviews.accounts import ApiToken, LoginSession, User
from interviews.audit import AuditEvent, AuditHead
from interviews.cases import Case, CaseLanguage, CaseReferenceCounter, CaseStatusChange
from interviews.consulates import (
    Consulate,
    ConsulateEvidence,
    ConsulateJurisdiction,
    ConsulateLanguage,
)
from interviews.db import Base
from interviews.documents import Document
from interviews.facilities import Facility
from interviews.legal_holds import LegalHold
from interviews.outcomes import InterviewOutcome
from interviews.questionnaire_answers import CaseQuestionnaire, QuestionnaireAnswer
from interviews.questionnaires import Questionnaire, QuestionnaireParameter
from interviews.sharing import CaseShare, FacilitySupervisor
from interviews.stats_imports import ImportedStatistic
from interviews.summaries import SummaryAcknowledgement, SummaryVersion
from scheduling.appointments import Interview, Participant
from scheduling.jobs import ScheduledJob
from scheduling.resources import (
    AvailabilityException,
    AvailabilityWindow,
    ConsulateSchedule,
    InterpreterLanguage,
    InterpreterProfile,
    VideoRoom,
)
from scheduling.search_cache import SchedulingVersion
from scheduling.shortfalls import InterpreterShortfall
from signaling.records import ChatMessage, Recording, SessionEvent
from signaling.transcripts import TranscriptLine

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "AvailabilityException",
    "AvailabilityWindow",
    "Base",
    "Case",
    "CaseLanguage",
    "CaseQuestionnaire",
    "CaseReferenceCounter",
    "CaseShare",
    "CaseStatusChange",
    "ChatMessage",
    "Consulate",
    "ConsulateEvidence",
    "ConsulateJurisdiction",
    "ConsulateLanguage",
    "ConsulateSchedule",
    "Document",
    "Facility",
    "FacilitySupervisor",
    "ImportedStatistic",
    "InterpreterLanguage",
    "InterpreterProfile",
    "InterpreterShortfall",
    "Interview",
    "InterviewOutcome",
    "LegalHold",
    "LoginSession",
    "Participant",
    "Questionnaire",
    "QuestionnaireAnswer",
    "QuestionnaireParameter",
    "Recording",
    "ScheduledJob",
    "SchedulingVersion",
    "SessionEvent",
    "SummaryAcknowledgement",
    "SummaryVersion",
    "TranscriptLine",
    "User",
    "VideoRoom",
]
