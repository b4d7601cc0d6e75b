"""From a real session to a sealed, checkable record: the staff member speaks spoken
fixtures over a real aiortc connection with captions on, the consul records the outcome,
the host ends the call, and the summary's exports carry the transcript, the participants
and the outcome, parse as what they claim to be, and verify — until one byte changes.

Real parts throughout: signalling WebSockets, aiortc peers, the server's recorder, the
tiny.en speech model, Apertium English→Spanish, fpdf2 with the Debian fonts, pypdf and
webvtt-py to read the files back, and `consulink records verify` on files on disk.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
from pathlib import Path
from typing import Any

import pytest
import webvtt
from aiohttp.test_utils import TestClient
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.summaries import current_summary
from signaling.transcripts import transcript
from tests.test_captions_call import Speaker, spoken_wav
from tests.test_cases_support import bearer
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    MediaParticipant,
    joined,
    media_participants,
    session_settings,
    two_interviews,
)
from web.cli import main
from web.keys import JOB_RUNNER, SETTINGS

OUTCOME = {
    "identity": "confirmed",
    "nationality": "confirmed",
    "nationality_country": "IN",
    "travel_document": "issue",
    "next_steps": "Emergency certificate within 10 days.",
    "notes": "Recognised the village school.",
}


async def _finished_session(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
    folder: Path,
) -> int:
    """Interview A held with captions on, an outcome recorded and the call ended."""
    a = interviews.a
    staff = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    await staff.send({"type": "open", "record_video": False})
    for signal in (staff, consul):
        await signal.expect("connect")
    await consul.send({"type": "captions", "on": True, "language": "es"})
    await consul.expect("captions")
    wav, texts = spoken_wav(folder)
    speaker = Speaker(staff, wav)
    participants.append(speaker)
    await speaker.start()
    await speaker.connected()
    async with asyncio.timeout(90):  # bounded: a pipeline that never delivers fails
        while True:
            async with db() as session:
                if len(await transcript(session, a.interview_id)) >= len(texts):
                    break
            await asyncio.sleep(0.2)
    saved = await client.put(
        f"/api/interviews/{a.interview_id}/outcome",
        json=OUTCOME,
        headers=await bearer(db, "consul.in@example.org"),
    )
    assert saved.status == 200, await saved.text()
    await staff.send({"type": "end"})
    await consul.closed()
    await client.app[JOB_RUNNER].run_due()
    return a.interview_id


@pytest.mark.slow
async def test_a_real_session_exports_sealed_records_that_verify_until_a_byte_changes(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    interview_id = await _finished_session(client, interviews, participants, db, tmp_path)
    async with db() as session:
        version = await current_summary(session, interview_id)
    assert version is not None
    document = version.document
    assert len(document["transcript"]) >= 3
    assert document["outcome"]["identity"] == "confirmed"
    assert document["recordings"], "the staff member's audio was recorded"

    staff = await bearer(db, "staff@example.org")
    files: dict[str, Path] = {}
    for fmt in ("pdf", "html", "vtt", "json"):
        response = await client.get(
            f"/api/interviews/{interview_id}/summary/exports/{fmt}", headers=staff
        )
        assert response.status == 200, await response.text()
        files[fmt] = tmp_path / f"summary.{fmt}"
        files[fmt].write_bytes(await response.read())

    # The seal names the very summary version stored (same canonical bytes, same digest).
    record = json.loads(files["json"].read_bytes())
    assert record["summary"] == document
    assert record["seal"]["summary_sha256"] == version.sha256
    assert [r["path"] for r in record["seal"]["recordings"]] == [
        r["path"] for r in document["recordings"]
    ]

    # PDF: the participants and the outcome are in its text.
    pdf = PdfReader(io.BytesIO(files["pdf"].read_bytes()))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    for person in document["participants"]:
        assert person["name"] in text
    assert "confirmed / confirmada" in text
    assert OUTCOME["next_steps"] in text
    assert document["transcript"][0]["text"].split()[0] in text

    # WebVTT: parses; one cue per transcript line, the speaker as the voice, and the
    # Spanish translation under the original.
    parsed = webvtt.read(str(files["vtt"]))
    assert len(parsed) == len(document["transcript"])
    first = document["transcript"][0]
    assert html.unescape(parsed[0].voice or "") == first["speaker"] == "Staff"
    assert [html.unescape(x) for x in parsed[0].text.splitlines()] == [
        first["text"],
        first["translations"]["spa"],
    ]

    # Every format verifies with the recordings, from the command line.
    data_dir = client.app[SETTINGS].data_dir
    for fmt, path in files.items():
        code = main(
            ["records", "verify", str(path), "--data-dir", str(data_dir), "--recordings",
             str(data_dir)]
        )  # fmt: skip
        out = capsys.readouterr().out
        assert code == 0, (fmt, out)
        assert "intact" in out

    # One changed byte in the summary (the outcome's next steps), in the PDF: named.
    data = files["pdf"].read_bytes()
    at = data.index(b"Emergency certificate")
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(data[:at] + b"e" + data[at + 1 :])
    code = main(["records", "verify", str(changed), "--data-dir", str(data_dir)])
    assert code == 1
    assert "FAILED summary changed" in capsys.readouterr().out
