"""The personal join link: exchanged for a session pass, then on to the live session.

The link needs no account: the signed token is the credential. While the interview can be
joined, the token becomes an HTTP-only session cookie for that interview and the browser
goes to /session/<id>, an address without the token. Otherwise the page says why (not
confirmed, too early, over), showing only the time and the organisations.
"""

from __future__ import annotations

from aiohttp import web

from interviews.consulates import Consulate
from interviews.facilities import Facility
from scheduling.joining import JoinState, note_arrival, resolve_join
from scheduling.notify import when
from scheduling.tokens import JoinClaim
from web.keys import CLOCK, LANGUAGE, SECRET_KEY, WRITE_GATE
from web.request_tools import remote
from web.routes.session_common import set_pass_cookie
from web.templating import LANG_COOKIE, page_language, render

routes = web.RouteTableDef()


@routes.get("/join/{token}")
async def join(request: web.Request) -> web.Response:
    """Where a person's invitation link leads: the interview's state, in their language."""
    now = request.app[CLOCK]()
    async with request.app[WRITE_GATE].transaction() as session:
        grant = await resolve_join(
            session, request.app[SECRET_KEY], request.match_info["token"], now
        )
        await note_arrival(session, grant, now, remote(request))
        consulate = facility = None
        if grant.interview is not None:
            consulate = await session.get(Consulate, grant.interview.consulate_id)
            facility = await session.get(Facility, grant.interview.facility_id)
    if grant.state is JoinState.OPEN and grant.interview and grant.participant and grant.closes_at:
        person = grant.participant
        claim = JoinClaim(grant.interview.id, person.id, person.token_nonce)
        moved = web.HTTPSeeOther(f"/session/{grant.interview.id}")
        set_pass_cookie(request, moved, claim, grant.closes_at)
        raise moved
    if grant.participant is not None and LANG_COOKIE not in request.cookies:
        # The invitation was written in the person's language; the page follows it.
        request[LANGUAGE] = grant.participant.language
    context: dict[str, object] = {
        "state": grant.state.value,
        "when": "",
        "opens": "",
        "name": "",
        "consulate": "",
        "facility": "",
    }
    if grant.interview is not None and grant.participant is not None:
        language = page_language(request)
        zone_name = grant.participant.time_zone
        context.update(
            when=when(grant.interview.starts_at, zone_name, language),
            opens=when(grant.opens_at, zone_name, language) if grant.opens_at else "",
            name=grant.participant.name,
            consulate=consulate.name if consulate else "",
            facility=facility.name if facility else "",
        )
    status = 404 if grant.state is JoinState.INVALID else 200
    return render("scheduling/join.html", request, context, status=status)
