"""Argos Translate models (.argosmodel packages), run without torch and without downloads.

We use argostranslate (LibreTranslate's `argos-translate-lt` distribution, whose deps are
light) for what it defines: the package format, its installer and its tokenizers. The
decoding call is ours, on CTranslate2 directly, because argostranslate's own
`apply_packaged_translation` takes beam size and thread counts from process-wide settings,
cannot bound output length, and splits sentences with MiniSBD, which downloads a model on
first use. We decode greedily (~100 ms a sentence for an Argos-sized model on 2 cores,
beam 4 costs ~330 ms) with output bounded to twice the input plus ten tokens.
"""

from __future__ import annotations

import json
import shutil
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from signaling.captions.languages import CodeError, iso3
from signaling.captions.sentences import split_sentences

MAX_DECODING_LENGTH = 256


class ArgosPackageError(ValueError):
    """An .argosmodel file that cannot be installed, with the reason."""


@dataclass(frozen=True)
class ArgosPackage:
    """An installed translation package."""

    source: str  # ISO 639-3
    target: str
    path: Path
    version: str
    description: str


def _describe(path: Path) -> ArgosPackage | None:
    """Read an installed package folder's metadata; None when it is not a translate package."""
    try:
        metadata = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
        if metadata.get("type", "translate") != "translate":
            return None
        source, target = iso3(metadata["from_code"]), iso3(metadata["to_code"])
    except (OSError, ValueError, KeyError, TypeError, CodeError):
        return None
    if not (path / "model" / "model.bin").is_file():
        return None
    names = f"{metadata.get('from_name', source)} → {metadata.get('to_name', target)}"
    return ArgosPackage(source, target, path, str(metadata.get("package_version", "")), names)


def installed_packages(packages_dir: Path) -> dict[tuple[str, str], ArgosPackage]:
    """Translate packages installed in the folder, by (source, target)."""
    found: dict[tuple[str, str], ArgosPackage] = {}
    if not packages_dir.is_dir():
        return found
    for child in sorted(packages_dir.iterdir()):
        package = _describe(child) if child.is_dir() else None
        if package is not None:
            found.setdefault((package.source, package.target), package)
    return found


def _check_archive(file: Path) -> tuple[str, dict[str, Any]]:
    """The archive's top folder and metadata, or ArgosPackageError naming what is wrong."""
    if not file.is_file():
        raise ArgosPackageError(f"{file}: no such file")
    if not zipfile.is_zipfile(file):
        raise ArgosPackageError(f"{file}: not an .argosmodel (an .argosmodel is a zip archive)")
    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        for name in names:
            pure = PurePosixPath(name)
            if pure.is_absolute() or ".." in pure.parts:
                raise ArgosPackageError(f"{file}: unsafe path {name!r} in the archive")
        tops = {PurePosixPath(name).parts[0] for name in names if name.strip("/")}
        if len(tops) != 1:
            raise ArgosPackageError(
                f"{file}: an .argosmodel holds exactly one folder, found {sorted(tops)}"
            )
        top = tops.pop()
        try:
            metadata = json.loads(archive.read(f"{top}/metadata.json"))
        except KeyError:
            raise ArgosPackageError(f"{file}: no {top}/metadata.json") from None
        except ValueError as error:
            raise ArgosPackageError(f"{file}: metadata.json is not JSON ({error})") from None
        if not isinstance(metadata, dict):
            raise ArgosPackageError(f"{file}: metadata.json must hold an object")
        if metadata.get("type", "translate") != "translate":
            raise ArgosPackageError(f"{file}: a {metadata.get('type')!r} package, not translate")
        for key in ("from_code", "to_code"):
            try:
                iso3(str(metadata.get(key, "")))
            except CodeError:
                raise ArgosPackageError(
                    f"{file}: metadata.json {key} {metadata.get(key)!r} is not a language code"
                ) from None
        if f"{top}/model/model.bin" not in names:
            raise ArgosPackageError(f"{file}: no CTranslate2 model ({top}/model/model.bin)")
        if not {f"{top}/sentencepiece.model", f"{top}/bpe.model"} & set(names):
            raise ArgosPackageError(f"{file}: no tokenizer (sentencepiece.model or bpe.model)")
    return top, metadata


def install_package(file: Path, packages_dir: Path) -> ArgosPackage:
    """Check an .argosmodel file and install it with argostranslate's own installer."""
    top, _metadata = _check_archive(file)
    packages_dir.mkdir(parents=True, exist_ok=True)
    from argostranslate import package as argos_package
    from argostranslate import settings as argos_settings

    destination = packages_dir / top
    if destination.exists():
        shutil.rmtree(destination)  # a newer file of the same package replaces the old one
    # argostranslate installs into its process-wide package folder; point it at ours.
    previous = argos_settings.package_data_dir
    argos_settings.package_data_dir = packages_dir
    try:
        argos_package.install_from_path(file)
    finally:
        argos_settings.package_data_dir = previous
    installed = _describe(destination)
    if installed is None:
        shutil.rmtree(destination, ignore_errors=True)
        raise ArgosPackageError(f"{file}: installed files do not form a translate package")
    return installed


class _LoadedModel:
    """A package's tokenizer, sentence splitter and CTranslate2 translator, loaded once."""

    def __init__(self, package: ArgosPackage, cpu_threads: int) -> None:
        import ctranslate2
        from argostranslate.package import Package

        self.package = Package(package.path)
        self.translator = ctranslate2.Translator(
            str(package.path / "model"),
            device="cpu",
            compute_type="int8",
            inter_threads=1,
            intra_threads=cpu_threads,
        )
        self.splitter: Any = None
        # A package that ships its own MiniSBD model gets it (a local file: no download).
        sbd = self.package.packaged_sbd_path
        if sbd is not None and sbd.name == "minisbd" and any(sbd.glob("*.onnx")):
            from argostranslate.sbd import MiniSBDSentencizer

            self.splitter = MiniSBDSentencizer(self.package)

    def sentences(self, text: str) -> list[str]:
        if self.splitter is not None:
            return [s for s in self.splitter.split_sentences(text) if s.strip()]
        return split_sentences(text)

    def translate(self, text: str, beam_size: int) -> str:
        sentences = self.sentences(text)
        if not sentences:
            return ""
        tokenizer = self.package.tokenizer
        tokens = [tokenizer.encode(sentence) for sentence in sentences]
        prefix = self.package.target_prefix
        bound = min(MAX_DECODING_LENGTH, 2 * max(len(t) for t in tokens) + 10)
        results = self.translator.translate_batch(
            tokens,
            target_prefix=[[prefix]] * len(tokens) if prefix else None,
            beam_size=beam_size,
            max_decoding_length=bound,
            replace_unknowns=True,
            max_batch_size=32,
            batch_type="tokens",
        )
        out = []
        for result in results:
            value = tokenizer.decode(result.hypotheses[0])
            if prefix and value.startswith(prefix):
                value = value[len(prefix) :]
            out.append(value.strip())
        return " ".join(v for v in out if v)


class ArgosEngine:
    """Translation with the Argos packages installed in one folder."""

    name = "argos"

    def __init__(self, packages_dir: Path, *, cpu_threads: int, beam_size: int = 1) -> None:
        self.packages_dir = packages_dir
        self._cpu_threads = cpu_threads
        self._beam_size = beam_size
        self._lock = threading.Lock()
        self._loaded: dict[Path, _LoadedModel] = {}
        self._scan: tuple[float, dict[tuple[str, str], ArgosPackage]] | None = None

    def packages(self) -> dict[tuple[str, str], ArgosPackage]:
        """Installed packages, rescanned when the folder changes (an install adds a folder)."""
        try:
            stamp = self.packages_dir.stat().st_mtime
        except OSError:
            return {}
        if self._scan is None or self._scan[0] != stamp:
            self._scan = (stamp, installed_packages(self.packages_dir))
        return self._scan[1]

    def pairs(self) -> set[tuple[str, str]]:
        """(source, target) pairs this engine can translate directly."""
        return set(self.packages())

    def translate(self, text: str, source: str, target: str) -> str:
        """Translate (blocking; run in a worker thread). KeyError when the pair is missing."""
        package = self.packages()[(source, target)]
        with self._lock:
            model = self._loaded.get(package.path)
            if model is None:
                model = self._loaded[package.path] = _LoadedModel(package, self._cpu_threads)
        return model.translate(text, self._beam_size)

    def close(self) -> None:
        """Forget loaded models (their memory is freed when no call still uses them)."""
        with self._lock:
            self._loaded.clear()
