"""The case file beside the video: what the call page shows a consul or the facility's staff.

Only someone on the interview as its consul or as facility staff, and signed in as that
person in this browser, gets the panel; the case rules (`interviews.case_access`) then
decide, so a consul sees only a case shared with their consulate. The documents and the
questionnaire are served and saved by their own routes, which check the same rules again.
Opening the panel is audited like opening the case page.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from interviews.access import Action, Forbidden
from interviews.accounts import Role
from interviews.case_access import CaseNotFound, load_case_grant
from interviews.documents import case_documents
from interviews.questionnaire_answers import filled
from interviews.questionnaire_results import AnswerStatus
from scheduling.appointments import Interview, ParticipantRole
from signaling.admission import Entrant
from web.keys import ACTOR
from web.request_tools import transaction
from web.routes.cases_api import audit_view
from web.routes.cases_pages import KIND_LABELS

# People on the interview who work with the case file; interpreters and guests do not.
_PANEL_ROLES = {ParticipantRole.CONSUL.value: Role.CONSUL, ParticipantRole.STAFF.value: Role.STAFF}


async def case_file(request: web.Request, entrant: Entrant, interview: Interview) -> dict[str, Any]:
    """The template context of the case-file panel (`case_file.state` tells what to show).

    States: "none" (no panel: interpreters, guests), "sign_in" (on the interview but not
    signed in as that person here), "not_shared" (the rules refuse), "shown".
    """
    role = _PANEL_ROLES.get(entrant.role)
    actor = request.get(ACTOR)
    if role is None or entrant.user_id is None:
        return {"state": "none"}
    if actor is None or actor.user_id != entrant.user_id or actor.role is not role:
        return {"state": "sign_in"}
    async with transaction(request) as session:
        try:
            grant = await load_case_grant(session, actor, interview.case_id, Action.CASE_READ)
        except (Forbidden, CaseNotFound):
            return {"state": "not_shared"}
        case = grant.case
        await audit_view(session, request, actor, case)
        documents = await case_documents(session, case.id)
        # The consul answers their own consulate's questionnaire; staff see no answers here.
        view = await filled(session, case.id, grant.share.consulate_id) if grant.share else None
    return {
        "state": "shown",
        "case": case,
        "documents": documents,
        "kind_labels": KIND_LABELS,
        "view": view,
        "answering": grant.share is not None,
        "statuses": list(AnswerStatus),
    }
