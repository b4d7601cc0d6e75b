"""What a filled questionnaire says: each parameter's status and the rule's result.

Plain values, computed only on the server: the result ("met: 5 of 20 confirmed, 5
required") is never taken from a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from interviews.questionnaires import Questionnaire


class AnswerStatus(StrEnum):
    """What the consul found for one parameter."""

    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"
    NOT_ASKED = "not_asked"


@dataclass(frozen=True)
class Result:
    """The rule applied to the answers: met or not, n of m, and how many more are needed."""

    confirmed: int
    not_confirmed: int
    not_asked: int
    total: int
    required: int

    @property
    def met(self) -> bool:
        """True when at least `required` parameters are confirmed."""
        return self.confirmed >= self.required

    @property
    def needed(self) -> int:
        """How many more confirmations the rule needs (0 once met)."""
        return max(0, self.required - self.confirmed)

    @property
    def still_possible(self) -> bool:
        """False when too few parameters are left unasked for the rule ever to be met."""
        return self.confirmed + self.not_asked >= self.required

    def as_dict(self) -> dict[str, Any]:
        """The result in the API's JSON shape."""
        return {
            "met": self.met,
            "confirmed": self.confirmed,
            "not_confirmed": self.not_confirmed,
            "not_asked": self.not_asked,
            "total": self.total,
            "required": self.required,
            "needed": self.needed,
            "still_possible": self.still_possible,
        }


@dataclass(frozen=True)
class Answer:
    """One parameter with its answer (not asked when never answered)."""

    key: str
    status: AnswerStatus
    notes: str = ""
    updated_at: datetime | None = None
    updated_by_name: str = ""


@dataclass(frozen=True)
class Filled:
    """A case's questionnaire for one consulate: definition, answers by key and the result."""

    case_id: int
    consulate_id: int
    definition: Questionnaire
    answers: dict[str, Answer]
    result: Result
    version: int = 0  # 0 until the first answer is saved
    updated_at: datetime | None = None
    updated_by_name: str = ""
    current_version: int = 0
    consulate_name: str = ""

    @property
    def started(self) -> bool:
        """True once any answer was saved."""
        return self.version > 0

    @property
    def outdated(self) -> bool:
        """True when the consulate has published a newer definition since."""
        return self.current_version > self.definition.version

    def as_dict(self, *, with_answers: bool = True) -> dict[str, Any]:
        """The API's JSON shape; staff get the result without the consul's answers."""
        body: dict[str, Any] = {
            "case_id": self.case_id,
            "consulate_id": self.consulate_id,
            "consulate_name": self.consulate_name,
            "questionnaire": {
                "name": self.definition.name,
                "version": self.definition.version,
                "current_version": self.current_version,
                "outdated": self.outdated,
            },
            "version": self.version,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "updated_by_name": self.updated_by_name,
            "result": self.result.as_dict(),
        }
        if with_answers:
            body["answers"] = [
                {
                    "key": p.key,
                    "label": p.label,
                    "label_en": p.label_en,
                    "label_es": p.label_es,
                    "status": self.answers[p.key].status.value,
                    "notes": self.answers[p.key].notes,
                }
                for p in self.definition.parameters
            ]
        return body


def compute_result(definition: Questionnaire, statuses: list[AnswerStatus]) -> Result:
    """Apply the definition's rule to one status per parameter."""
    confirmed = statuses.count(AnswerStatus.CONFIRMED)
    not_confirmed = statuses.count(AnswerStatus.NOT_CONFIRMED)
    return Result(
        confirmed=confirmed,
        not_confirmed=not_confirmed,
        not_asked=len(statuses) - confirmed - not_confirmed,
        total=definition.total,
        required=definition.required,
    )
