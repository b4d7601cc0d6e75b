"""What `consulink models list` and `consulink models install` report and do."""

from __future__ import annotations

from pathlib import Path

from interviews.codes import language_name
from signaling.captions.apertium import available_modes
from signaling.captions.argos import ArgosPackage, install_package, installed_packages
from signaling.captions.config import CaptionConfig
from signaling.captions.speech_models import SpeechModelMissing, find_models, resolve


def _pair(source: str, target: str) -> str:
    return f"{source}→{target} ({language_name(source)} → {language_name(target)})"


def models_report(config: CaptionConfig) -> list[str]:
    """Lines describing every speech model and translation pair this machine offers."""
    lines = ["Speech models:"]
    try:
        in_use = resolve(config.speech_model).path
    except SpeechModelMissing as error:
        in_use = None
        lines.append(f"  (none usable) {error}")
    try:
        models = find_models(config.speech_model)
    except SpeechModelMissing:
        models = find_models("")
    for model in models:
        mark = "  [in use]" if model.path == in_use else ""
        lines.append(f"  {model.name:<10} {model.languages:<15} {model.source}: {model.path}{mark}")

    lines.append(f"Translation models (Argos, in {config.argos_packages_dir}):")
    packages = installed_packages(config.argos_packages_dir)
    if not packages:
        lines.append("  (none installed: consulink models install FILE.argosmodel)")
    for (source, target), package in sorted(packages.items()):
        lines.append(f"  {_pair(source, target)}  version {package.version or '?'}")

    lines.append(f"Translation pairs (Apertium, in {config.apertium_modes_dir}):")
    modes = available_modes(config.apertium_modes_dir)
    if not modes:
        lines.append("  (none installed: e.g. apt-get install apertium-eng-spa)")
    for source, target in sorted(modes):
        lines.append(f"  {_pair(source, target)}")

    if config.engine_choices:
        lines.append("Engine chosen per pair (CONSULINK_TRANSLATION_ENGINES):")
        for (source, target), engine in sorted(config.engine_choices.items()):
            lines.append(f"  {source}→{target}: {engine}")
    return lines


def install_translation_model(file: Path, config: CaptionConfig) -> ArgosPackage:
    """Install an .argosmodel file into the configured packages folder (ArgosPackageError)."""
    return install_package(file, config.argos_packages_dir)
