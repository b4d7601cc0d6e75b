"""Real models and spoken fixtures for the caption tests and benchmarks.

`build_argosmodel` builds real .argosmodel packages without torch or downloads.

A package is what Argos Translate ships: a zip holding one folder with metadata.json, a
sentencepiece model and a CTranslate2 model. Here the sentencepiece model is trained on a
few sentences and the Transformer's weights are random numpy arrays written through
`ctranslate2.specs`, so loading, tokenising and decoding all run for real; only the output
is gibberish. The end-of-sentence token is made impossible, so decoding always runs to the
output bound: translations are never empty and timings are a worst case.
"""

from __future__ import annotations

import io
import json
import re
import wave
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sentencepiece as spm
from ctranslate2.specs import transformer_spec

from signaling.captions.audio import pcm_frames, upsample_16k_to_48k

CORPUS = [
    "I lost my passport when I crossed the river last year.",
    "My mother and my brothers still live in the same house.",
    "I would like to speak with someone from the consulate.",
    "The police took my documents at the border.",
    "Where will they send me after the interview?",
    "Please tell my family that I am safe.",
    "Perdí mi pasaporte cuando crucé el río el año pasado.",
    "Mi madre y mis hermanos todavía viven en la misma casa.",
]


@dataclass(frozen=True)
class ModelSize:
    """Transformer dimensions: tiny for tests, Argos-sized (6+6 layers, d=512) for timing."""

    layers: int = 1
    d_model: int = 32
    heads: int = 2
    ffn: int = 64
    vocabulary: int = 0  # pad the vocabulary to this many tokens (Argos models have ~32k)
    # Whole-word pieces: about one token per word, as a real 32k vocabulary gives, so that
    # decoding lengths (and so timings) are realistic; sub-word pieces of a tiny corpus
    # would cut a sentence into three times as many tokens.
    word_pieces: bool = False


TINY = ModelSize()
ARGOS_SIZED = ModelSize(
    layers=6, d_model=512, heads=8, ffn=2048, vocabulary=32_000, word_pieces=True
)


def _sentencepiece(sentences: list[str], *, word_pieces: bool) -> bytes:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        model_type="word" if word_pieces else "unigram",
        vocab_size=120,
        hard_vocab_limit=False,
        character_coverage=1.0,
        minloglevel=2,
    )
    return model.getvalue()


def _shape(name: str, size: ModelSize, source_vocab: int, target_vocab: int) -> tuple[int, ...]:
    d, parts = size.d_model, name.split("/")
    leaf, parent = parts[-1], parts[-2]
    if leaf in ("gamma", "beta"):
        return (d,)
    if parent.startswith("embeddings"):
        return (source_vocab if parts[0] == "encoder" else target_vocab, d)
    if parent == "projection":
        return (target_vocab, d) if leaf == "weight" else (target_vocab,)
    block = parts[-3]
    if block == "ffn":
        return (size.ffn, d) if parent == "linear_0" else (d, size.ffn)
    if block == "self_attention":
        return (3 * d, d) if parent == "linear_0" else (d, d)
    if block == "attention":
        return (2 * d, d) if parent == "linear_1" else (d, d)
    raise ValueError(f"no shape rule for {name}")


def _transformer(
    vocabulary: list[str], size: ModelSize, seed: int
) -> transformer_spec.TransformerSpec:
    spec = transformer_spec.TransformerSpec.from_config((size.layers, size.layers), size.heads)
    spec.decoder.projection.bias = None  # declared so we can bias against </s>
    rng = np.random.default_rng(seed)
    vocab = len(vocabulary)

    def fill(layer: Any, name: str, value: Any) -> None:
        if value is not None:
            return
        leaf = name.split("/")[-1]
        shape = _shape(name, size, vocab, vocab)
        if leaf == "gamma":
            array = np.ones(shape, np.float32)
        elif leaf in ("beta", "bias"):
            array = np.zeros(shape, np.float32)
        else:
            array = rng.normal(0.0, 0.3, shape).astype(np.float32)
        setattr(layer, leaf, array)

    spec._visit(fill)
    # Never end a sentence, never emit padding or <unk>: output is never empty.
    for token in ("</s>", "<unk>", "<s>", "<blank>"):
        if token in vocabulary:
            spec.decoder.projection.bias[vocabulary.index(token)] = -1e4
    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    return spec


def build_argosmodel(
    destination: Path,
    *,
    source: str = "en",
    target: str = "es",
    size: ModelSize = TINY,
    seed: int = 0,
    extra_metadata: dict[str, Any] | None = None,
) -> Path:
    """Write `destination` (an .argosmodel file) translating `source` to `target` (ISO 639-1)."""
    sp_model = _sentencepiece(CORPUS, word_pieces=size.word_pieces)
    processor = spm.SentencePieceProcessor(model_proto=sp_model)
    vocabulary = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocabulary += [f"▁filler{i}" for i in range(max(0, size.vocabulary - len(vocabulary)))]
    folder = f"translate-{source}_{target}-0_1"
    work = destination.parent / f".{destination.name}.build"
    (work / "model").mkdir(parents=True)
    spec = _transformer(vocabulary, size, seed)
    spec.validate()
    spec.optimize(quantization="int8")  # as Argos ships its models
    spec.save(str(work / "model"))
    metadata = {
        "package_version": "0.1",
        "argos_version": "1.0",
        "from_code": source,
        "from_name": source,
        "to_code": target,
        "to_name": target,
        "type": "translate",
        **(extra_metadata or {}),
    }
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{folder}/metadata.json", json.dumps(metadata))
        archive.writestr(f"{folder}/sentencepiece.model", sp_model)
        archive.writestr(f"{folder}/README.md", "Random weights, built by the tests.\n")
        for file in sorted((work / "model").iterdir()):
            archive.write(file, f"{folder}/model/{file.name}")
    for file in (work / "model").iterdir():
        file.unlink()
    (work / "model").rmdir()
    work.rmdir()
    return destination


# Spoken fixtures (scripts/make-speech-fixtures): 16 kHz mono WAVs with their texts.
SPEECH = Path(__file__).resolve().parent / "fixtures" / "speech"


def speech_fixture(name: str) -> tuple[np.ndarray, str]:
    """A fixture's 16 kHz int16 samples and what it says."""
    with wave.open(str(SPEECH / f"{name}.wav")) as recording:
        assert recording.getframerate() == 16_000 and recording.getnchannels() == 1
        samples = np.frombuffer(recording.readframes(recording.getnframes()), np.int16)
    return samples, (SPEECH / f"{name}.txt").read_text(encoding="utf-8").strip()


def fixture_names() -> list[str]:
    """Every spoken fixture, by name."""
    return sorted(path.stem for path in SPEECH.glob("*.wav"))


def silence(seconds: float, rate: int = 16_000) -> np.ndarray:
    """Digital silence as int16 samples."""
    return np.zeros(int(seconds * rate), np.int16)


def call_audio(pieces: list[np.ndarray]) -> list[Any]:
    """16 kHz fixtures and silences as a browser's audio reaches the server: 48 kHz stereo
    av.AudioFrames of 20 ms, as aiortc decodes them."""
    pcm = upsample_16k_to_48k(np.concatenate(pieces))
    return pcm_frames(np.stack([pcm, pcm], axis=1).reshape(-1), channels=2)


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, for comparing transcripts."""
    return re.sub(r"[^\w' ]+", " ", text.lower()).split()


def word_errors(reference: str, hypothesis: str) -> int:
    """Word-level edit distance (substitutions + insertions + deletions)."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        previous, row[0] = row[:], i
        for j, hyp_word in enumerate(hyp, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
    return row[len(hyp)]
