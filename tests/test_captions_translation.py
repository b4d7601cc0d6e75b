"""Caption translation: real Argos packages (built here, installed with argostranslate's own
installer), real Apertium pipelines, pivoting through English, and what viewers get when a
pair is missing or an engine breaks."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from signaling.captions.apertium import ApertiumEngine
from signaling.captions.argos import ArgosEngine, ArgosPackageError, install_package
from signaling.captions.config import APERTIUM_MODES_DIR
from signaling.captions.translation import Translator
from tests.captions_models import build_argosmodel
from web.cli import main

pytestmark = pytest.mark.skipif(
    not (APERTIUM_MODES_DIR / "eng-spa.mode").exists(),
    reason="needs Debian's apertium-eng-spa (scripts/lib.sh installs it)",
)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny .argosmodel files for a few pairs (about 0.1 s each)."""
    folder = tmp_path_factory.mktemp("argosmodels")
    return {
        pair: build_argosmodel(folder / f"{pair}.argosmodel", source=pair[:2], target=pair[3:])
        for pair in ("en-es", "bn-en", "hi-en")
    }


@pytest.fixture
def apertium() -> Iterator[ApertiumEngine]:
    engine = ApertiumEngine(APERTIUM_MODES_DIR)
    yield engine
    engine.close()


def test_an_installed_argos_model_translates_through_the_real_loading_path(
    models: dict[str, Path], tmp_path: Path
) -> None:
    packages = tmp_path / "packages"
    installed = install_package(models["en-es"], packages)
    assert (installed.source, installed.target) == ("eng", "spa")
    assert (installed.path / "metadata.json").is_file()
    assert (installed.path / "model" / "model.bin").is_file()

    engine = ArgosEngine(packages, cpu_threads=1)
    assert engine.pairs() == {("eng", "spa")}
    text = "I lost my passport. Where is the consulate?"
    first = engine.translate(text, "eng", "spa")
    # Random weights: gibberish, but decoded by CTranslate2 and detokenised by sentencepiece.
    assert first.strip() and first != text
    assert engine.translate(text, "eng", "spa") == first  # greedy decoding is deterministic
    with pytest.raises(KeyError):
        engine.translate(text, "spa", "eng")


def test_installing_a_newer_file_of_the_same_pair_replaces_the_old_one(
    models: dict[str, Path], tmp_path: Path
) -> None:
    packages = tmp_path / "packages"
    install_package(models["en-es"], packages)
    newer = build_argosmodel(tmp_path / "newer.argosmodel", seed=7)
    install_package(newer, packages)
    assert len(list(packages.iterdir())) == 1
    assert ArgosEngine(packages, cpu_threads=1).pairs() == {("eng", "spa")}


def _rezip(source: Path, destination: Path, change: str) -> Path:
    """Copy an .argosmodel, breaking it in one way."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(destination, "w") as broken:
        for item in original.infolist():
            data = original.read(item)
            if change == "no metadata" and item.filename.endswith("metadata.json"):
                continue
            if change == "no model" and item.filename.endswith("model.bin"):
                continue
            if change == "bad language" and item.filename.endswith("metadata.json"):
                metadata = json.loads(data)
                metadata["to_code"] = "zz"
                data = json.dumps(metadata).encode()
            broken.writestr(item, data)
        if change == "unsafe path":
            broken.writestr("../outside.txt", b"escaped")
    return destination


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("not a zip", "not an .argosmodel"),
        ("no metadata", "metadata.json"),
        ("no model", "model.bin"),
        ("bad language", "not a language code"),
        ("unsafe path", "unsafe path"),
    ],
)
def test_a_bad_model_file_is_refused_with_the_reason_and_nothing_is_installed(
    models: dict[str, Path], tmp_path: Path, change: str, message: str
) -> None:
    packages = tmp_path / "packages"
    install_package(models["hi-en"], packages)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    if change == "not a zip":
        bad = tmp_path / "bad.argosmodel"
        bad.write_text("<html>not a model</html>")
        before.append(bad.relative_to(tmp_path))
    else:
        bad = _rezip(models["en-es"], tmp_path / "bad.argosmodel", change)
        before.append(bad.relative_to(tmp_path))
    with pytest.raises(ArgosPackageError, match=message):
        install_package(bad, packages)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == sorted(before)
    assert not (tmp_path / "outside.txt").exists()


def test_apertium_translates_english_to_spanish_and_back(apertium: ApertiumEngine) -> None:
    assert {("eng", "spa"), ("spa", "eng")} <= apertium.pairs()
    assert apertium.translate("I have a passport.", "eng", "spa") == "Tengo un pasaporte."
    assert "La policía tomó mis documentos" in apertium.translate(
        "The police took my documents at the border.", "eng", "spa"
    )
    assert "consulado" in apertium.translate("Where is the consulate?", "eng", "spa")
    assert (
        apertium.translate("Mi madre vive en la misma casa.", "spa", "eng")
        == "My mother lives in the same house."
    )
    # Characters with a meaning in Apertium's stream format pass through as text.
    assert "[5]" in apertium.translate("I have [5] documents.", "eng", "spa")


def test_argos_is_preferred_when_installed_unless_the_setting_picks_apertium(
    models: dict[str, Path], tmp_path: Path, apertium: ApertiumEngine
) -> None:
    install_package(models["en-es"], tmp_path)
    argos = ArgosEngine(tmp_path, cpu_threads=1)
    text = "I have a passport."
    by_default = Translator([argos, apertium]).translate(text, "eng", "spa")
    assert (by_default.status, by_default.engine) == ("translated", "argos")
    chosen = Translator([argos, apertium], {("eng", "spa"): "apertium"})
    by_setting = chosen.translate(text, "eng", "spa")
    assert (by_setting.status, by_setting.engine, by_setting.text) == (
        "translated",
        "apertium",
        "Tengo un pasaporte.",
    )


def test_a_pair_without_a_direct_model_is_translated_through_english(
    models: dict[str, Path], tmp_path: Path, apertium: ApertiumEngine
) -> None:
    for pair in ("bn-en", "hi-en", "en-es"):
        install_package(models[pair], tmp_path)
    argos = ArgosEngine(tmp_path, cpu_threads=1)
    # Bengali → Spanish: Argos bn→en, then the en→es the setting gives to Apertium.
    mixed = Translator([argos, apertium], {("eng", "spa"): "apertium"})
    legs = mixed.route("ben", "spa")
    assert legs is not None
    assert [(e.name, s, t) for e, s, t in legs] == [
        ("argos", "ben", "eng"),
        ("apertium", "eng", "spa"),
    ]
    result = mixed.translate("আমার পাসপোর্ট হারিয়ে গেছে।", "ben", "spa")
    assert (result.status, result.engine, result.language) == (
        "translated",
        "argos+apertium",
        "spa",
    )
    assert result.text.strip()
    # Hindi → Spanish with Argos for both legs.
    argos_only = Translator([argos]).translate("मेरा पासपोर्ट खो गया।", "hin", "spa")
    assert (argos_only.status, argos_only.engine) == ("translated", "argos+argos")


def test_a_missing_pair_gives_viewers_the_original_with_a_notice(
    models: dict[str, Path], tmp_path: Path, apertium: ApertiumEngine
) -> None:
    install_package(models["bn-en"], tmp_path)
    translator = Translator([ArgosEngine(tmp_path, cpu_threads=1), apertium])
    text = "আমার পাসপোর্ট হারিয়ে গেছে।"
    result = translator.translate(text, "ben", "fra")
    assert (result.status, result.text, result.engine) == ("missing", text, None)
    assert result.notice is not None
    assert "Bengali" in result.notice and "French" in result.notice
    same = translator.translate(text, "ben", "ben")
    assert (same.status, same.text, same.notice) == ("same", text, None)


def test_a_broken_engine_costs_the_translation_not_the_caption(tmp_path: Path) -> None:
    """A real Apertium engine whose pipeline exits at once (as a broken install would)."""
    (tmp_path / "eng-fra.mode").write_text("false\n")
    broken = ApertiumEngine(tmp_path)
    try:
        result = Translator([broken]).translate("I have a passport.", "eng", "fra")
    finally:
        broken.close()
    assert (result.status, result.text) == ("failed", "I have a passport.")
    assert result.notice is not None and "failed" in result.notice


def test_cli_installs_a_model_file_and_lists_what_this_machine_has(
    models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert main(["models", "install", str(models["en-es"]), "--data-dir", str(data)]) == 0
    assert "Installed eng→spa" in capsys.readouterr().out
    assert main(["models", "list", "--data-dir", str(data)]) == 0
    listing = capsys.readouterr().out
    assert "tiny.en" in listing and "[in use]" in listing
    assert "eng→spa (English → Spanish)  version 0.1" in listing  # Argos
    assert "spa→eng (Spanish → English)" in listing  # Apertium

    bad = tmp_path / "notes.argosmodel"
    bad.write_text("not a zip")
    before = sorted((data / "argos-packages").rglob("*"))
    assert main(["models", "install", str(bad), "--data-dir", str(data)]) == 2
    assert "not an .argosmodel" in capsys.readouterr().err
    assert sorted((data / "argos-packages").rglob("*")) == before
