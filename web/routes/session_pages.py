"""The live-session page: device check, lobby and call in one page (web/static/session/).

Reached from a join link (after the token became a session pass) or, for signed-in users,
from their calendar. Consuls see the shared case file beside the video.
"""

from __future__ import annotations

import pycountry
from aiohttp import web

from interviews import codes
from scheduling.appointments import Interview
from signaling.admission import Refused
from web.keys import CATALOGS, SESSIONMAKER
from web.request_tools import signed_in
from web.routes.session_case import case_file
from web.routes.session_common import refused_error, request_entrant
from web.templating import page_language, render

routes = web.RouteTableDef()

# Strings the page's scripts show, translated on the server (no build step, no inline script).
SCRIPT_STRINGS = (
    "Camera and microphone are blocked. Allow them in the browser's address bar, then reload. "
    "You can still join with sound only if the microphone is allowed.",
    "No camera found: you will join with sound only.",
    "No microphone found. Connect one, or join to follow the chat only.",
    "Connected to the server.",
    "Cannot reach the server. Check the network and reload.",
    "Waiting for the host to open the session.",
    "Waiting for the host to let you in.",
    "The host did not let you in.",
    "The host ended the session.",
    "You joined from another window.",
    "The interview was cancelled.",
    "This session already has five people, the most it can hold.",
    "The interview was moved to another time. Use the link in your newest invitation.",
    "The time set aside for this interview is over: the session has closed.",
    "Reconnecting…",
    "Let in",
    "Turn away",
    "Mute",
    "Unmute",
    "Camera off",
    "Camera on",
    "muted",
    "camera off",
    "Connection: good",
    "Connection: fair",
    "Connection: poor",
    "Connection: lost",
    "(host)",
    "You",
    "in the lobby",
    # The connectivity check beside the device preview.
    "Live connection: {ms} ms round trip.",
    "Live connection: blocked.",
    "Network paths found: {types}.",
    "No network path found.",
    "Test call to the server: connected.",
    "Test call to the server: failed.",
    "The live connection (WebSocket) is blocked: ask your IT team to allow secure WebSockets "
    "to this site, or try another network.",
    "No relay address was found: the TURN server cannot be reached. Tell the organisers of "
    "the interview.",
    "Sound and video may not get through from this network. Try another network (for "
    "example a phone's hotspot), or ask your IT team to allow UDP traffic to this server.",
)


@routes.get(r"/session/{id:\d+}")
async def session_page(request: web.Request) -> web.Response:
    """The device check, lobby and call for one interview."""
    interview_id = int(request.match_info["id"])
    try:
        entrant = await request_entrant(request, interview_id)
    except Refused as refused:
        raise refused_error(refused) from None
    if entrant is None:
        signed_in(request)  # sends the visitor to sign in, then back here
        raise AssertionError("unreachable")
    async with request.app[SESSIONMAKER]() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None
    case = await case_file(request, entrant, interview)
    language = page_language(request)
    gettext = request.app[CATALOGS].get(language).gettext
    context = {
        "interview_id": interview_id,
        "entrant": entrant,
        "role_label": entrant.role,
        "caption_languages": _caption_languages(entrant.language, language),
        "case_file": case,
        "strings": {text: gettext(text) for text in SCRIPT_STRINGS},
    }
    return render("session/session.html", request, context)


def _language_name(code: str, page: str) -> str:
    found = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
    return codes.language_name(str(found.alpha_3) if found else code, page)


def _caption_languages(own: str, page: str) -> list[tuple[str, str, bool]]:
    """(code, name, selected) for the caption-language choice, the person's own first."""
    seen: list[str] = []
    for code in (own, "en", "es"):
        if code not in seen:
            seen.append(code)
    return [(code, _language_name(code, page), code == own) for code in seen]
