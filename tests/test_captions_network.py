"""Nothing in the caption pipeline opens a network connection or downloads a model.

The whole pipeline (building and installing an Argos package, loading tiny.en and Silero,
recognising a spoken fixture, translating with Argos and Apertium) runs in a child process
inside a network namespace with no interfaces (`unshare -n`), with a Python audit hook that
records every attempt to resolve a name or open a connection. Where namespaces are not
allowed, the child runs without one and the audit hook alone catches attempts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import asyncio, json, sys
from pathlib import Path

attempts = []
def audit(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
                 "socket.sendto", "urllib.Request"):
        attempts.append(f"{event} {args!r}"[:300])
sys.addaudithook(audit)

from signaling.captions.argos import install_package
from signaling.captions.config import CaptionConfig
from signaling.captions.pipeline import CaptionService
from tests.captions_models import build_argosmodel, call_audio, silence, speech_fixture

async def main(work):
    install_package(build_argosmodel(work / "en_fr.argosmodel", target="fr"), work / "argos")
    service = CaptionService(CaptionConfig(argos_packages_dir=work / "argos", interim_every_s=0))
    await service.start()
    done = asyncio.Event()
    captions = []
    def on_event(event):
        captions.append(event)
        done.set()
    stream = service.open_session("s", on_event, {"spa", "fra"}).add_speaker("p", "eng")
    speech, _ = speech_fixture("passport")
    for frame in call_audio([silence(0.3), speech, silence(0.6)]):
        stream.push(frame)
    async with asyncio.timeout(60):
        await done.wait()
    await service.close()
    caption = captions[0]
    return {
        "text": caption.text,
        "translations": {k: [v.status, v.engine, v.text] for k, v in caption.translations.items()},
    }

result = asyncio.run(main(Path(sys.argv[1])))
print(json.dumps({"result": result, "attempts": attempts}))
"""


def _namespace_prefix() -> list[str]:
    """`unshare -n` (root) or `unshare -rn` (user namespaces), whichever works here."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    for prefix in ([unshare, "-n"], [unshare, "-rn"]):
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
        if probe.returncode == 0:
            return prefix
    return []


@pytest.mark.slow
def test_the_pipeline_runs_with_no_network_and_tries_no_connection(tmp_path: Path) -> None:
    prefix = _namespace_prefix()
    if prefix:
        # The namespace really has no way out: not even loopback is up.
        links = subprocess.run([*prefix, "cat", "/proc/net/dev"], capture_output=True, text=True)
        assert [line.split(":")[0].strip() for line in links.stdout.splitlines()[2:]] == ["lo"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "ARGOS_"))}
    env["PYTHONPATH"] = str(ROOT)
    child = subprocess.run(
        [*prefix, sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    result = report["result"]
    assert "passport" in result["text"].lower()
    assert result["translations"]["spa"][:2] == ["translated", "apertium"]
    assert "pasaporte" in result["translations"]["spa"][2]
    assert result["translations"]["fra"][:2] == ["translated", "argos"]
