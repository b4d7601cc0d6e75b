"""Playback of a recorded session: the page, each track's file, and the transcript as WebVTT.

GET /session/{id}/playback              the page (audited: session.playback)
GET /api/recordings/{id}/media          one track's file, with HTTP Range (seeking);
                                        audited (recording.play) once per person, track
                                        and 10 minutes, whatever the range
GET /api/sessions/{id}/transcript.vtt   the transcript on the session's timeline

Who may: see interviews.playback.entitled_interview (staff of the facility, consuls of the
interview's consulate while the case is shared; not admins, not interpreters).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from interviews import webvtt
from interviews.audit import record
from interviews.case_access import CaseNotFound
from interviews.playback import (
    PlaybackNotFound,
    audit_track_fetch,
    load_playback,
    load_track,
    transcript_cues,
)
from signaling.transcripts import transcript
from web.errors import not_found
from web.file_response import ClosingFileResponse
from web.keys import CATALOGS, CLOCK, SETTINGS
from web.openapi import error_responses
from web.request_tools import remote, signed_in, transaction
from web.templating import page_language, render

routes = web.RouteTableDef()
_ID = r"{id:\d+}"
# The page's language as the ISO 639-3 code transcripts keep translations under.
_TRANSCRIPT_LANGUAGE = {"en": "eng", "es": "spa"}
SCRIPT_STRINGS = ("Play", "Pause")


@contextmanager
def playback_errors() -> Iterator[None]:
    """A missing interview, track or case is a 404."""
    try:
        yield
    except (PlaybackNotFound, CaseNotFound):
        raise not_found("No such session recording or track.") from None


@routes.get(f"/session/{_ID}/playback")
async def playback_page(request: web.Request) -> web.Response:
    """The recorded tracks in sync, the transcript under the playhead; the view is audited."""
    actor = signed_in(request)
    with playback_errors():
        async with transaction(request) as session:
            playback = await load_playback(session, actor, int(request.match_info["id"]))
            await record(
                session,
                "session.playback",
                actor=actor,
                target_type="interview",
                target_id=playback.interview.id,
                remote=remote(request),
                details={
                    "case_id": playback.case.id,
                    "reference": playback.case.reference,
                    "tracks": [track.recording.id for track in playback.tracks],
                },
                now=request.app[CLOCK](),
            )
    language = page_language(request)
    gettext = request.app[CATALOGS].get(language).gettext
    groups: dict[str, list[Any]] = {}
    for track in playback.tracks:
        key = str(track.recording.participant_id or f"u{track.recording.user_id}")
        groups.setdefault(key, []).append(track)
    context = {
        "playback": playback,
        "groups": list(groups.values()),
        "strings": {text: gettext(text) for text in SCRIPT_STRINGS},
        # The transcript's WebVTT <track> rides on one element (the first sound track).
        "track_host": next(
            (t.recording.id for t in playback.tracks if t.recording.kind == "audio"),
            playback.tracks[0].recording.id if playback.tracks else None,
        )
        if playback.transcript
        else None,
        "transcript_language": _TRANSCRIPT_LANGUAGE.get(language, language),
    }
    return render("session/playback.html", request, context)


@routes.get(f"/api/recordings/{_ID}/media")
async def track_media(request: web.Request) -> web.StreamResponse:
    """One recorded track as stored (Ogg Opus or WebM VP8), seekable by byte range."""
    actor = signed_in(request)
    with playback_errors():
        async with transaction(request) as session:
            row = await load_track(session, actor, int(request.match_info["id"]))
            path = request.app[SETTINGS].data_dir / "recordings" / row.path
            if not path.is_file():
                raise not_found("This track's file is gone (deleted by retention or lost).")
            await audit_track_fetch(
                session, actor, row, now=request.app[CLOCK](), remote=remote(request)
            )
    # FileResponse answers Range requests (206 with Content-Range) and If-Range itself.
    return ClosingFileResponse(
        path,
        headers={
            "Content-Type": row.content_type,
            "Content-Disposition": "inline",
            "Cache-Control": "private, no-store",
        },
    )


@routes.get(f"/api/sessions/{_ID}/transcript.vtt")
async def transcript_vtt(request: web.Request) -> web.Response:
    """The transcript as WebVTT, times from the session's opening; ?lang= adds a translation."""
    actor = signed_in(request)
    language = request.query.get("lang") or None
    with playback_errors():
        async with transaction(request) as session:
            playback = await load_playback(session, actor, int(request.match_info["id"]))
            lines = await transcript(session, playback.interview.id)
    body = webvtt.render(
        transcript_cues(lines, language),
        title=f"{playback.case.reference} interview {playback.interview.id}",
        notes=("Machine transcription: captions recognised automatically, not verified.",),
    )
    return web.Response(text=body, content_type=webvtt.MEDIA_TYPE, charset="utf-8")


OPENAPI = {
    "/api/recordings/{id}/media": {
        "get": {
            "summary": "One recorded track (Ogg Opus or WebM VP8) with HTTP Range support; "
            "staff of the facility and consuls of the interview's consulate",
            "responses": {
                "200": {"description": "The whole file"},
                "206": {"description": "The byte range asked for"},
                **error_responses(401, 403, 404),
            },
        }
    },
    "/api/sessions/{id}/transcript.vtt": {
        "get": {
            "summary": "A session's transcript as WebVTT on the session's timeline",
            "responses": {
                "200": {
                    "description": "WebVTT",
                    "content": {"text/vtt": {"schema": {"type": "string"}}},
                },
                **error_responses(401, 403, 404),
            },
        }
    },
}
