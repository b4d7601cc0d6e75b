"""Summary exports: seal + PDF of a 60-minute interview, and verifying 1 GB of recordings.

1. A 60-minute interview with 600 transcript lines (each with a Spanish translation) and
   small recording files: time to seal it and render each format, then (in a second run
   of the same work, as tracemalloc slows it) peak Python memory. Summary + PDF from the
   database rows, as one figure, is bench/summary_assembly.py's.
2. A recording set of --gigabytes GB (default 1) written to a temporary folder (deleted
   afterwards): time and peak memory of sealing it and of `verify_export` reading it
   back. Hashing streams 1 MiB at a time, so memory must not grow with the files.

Prints wall and CPU time, the process's peak RSS and the load average; asserts nothing.

    .venv/bin/python bench/summary_export.py
    .venv/bin/python bench/summary_export.py --gigabytes 0.2 --runs 1
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from interviews.export_pdf import render_pdf  # noqa: E402
from interviews.exports import render_html, render_json, render_vtt, seal_summary  # noqa: E402
from interviews.pdf_layout import find_fonts  # noqa: E402
from interviews.seal import load_or_create_signing_key  # noqa: E402
from interviews.verify import verify_export  # noqa: E402
from tests.export_support import labels_for, sample_document, write_recordings  # noqa: E402

T = TypeVar("T")
NOW = datetime(2026, 12, 3, 16, 10, tzinfo=UTC)


def measure(label: str, work: Callable[[], T]) -> T:
    """Run `work` twice: timed (wall and CPU), then under tracemalloc for its peak Python
    memory (tracemalloc slows allocation-heavy code several times, so never both)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  {label:<34} wall {wall:6.2f} s  cpu {cpu:6.2f} s  peak {peak / 2**20:7.1f} MiB")
    return result


def interview(lines: int) -> dict[str, Any]:
    """A 60-minute interview: `lines` transcript lines spread over the hour."""
    document = sample_document(lines=lines, recordings=4)
    step = 3_600_000 // lines
    for n, line in enumerate(document["transcript"]):
        line["offset_ms"] = n * step
        line["duration_ms"] = min(step - 200, 5_000)
        line["text"] = (
            f"Question {n}: tell me the name of your school, your village and the "
            "district, and who your neighbours were when you were a child."
        )
    return document


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=600)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory(prefix="consulink-bench-") as folder:
        data_dir = Path(folder)
        key = load_or_create_signing_key(data_dir / "signing.key")
        document = interview(args.lines)
        write_recordings(document, data_dir)
        labels = labels_for(document)
        fonts = find_fonts()
        print(f"60-minute interview, {args.lines} transcript lines:")
        for run in range(args.runs):
            print(f" run {run + 1}")

            def seal_and_pdf() -> bytes:
                record = seal_summary(document, data_dir, key, NOW)
                return render_pdf(record, labels, fonts, key)

            pdf = measure("seal + PDF", seal_and_pdf)
        record = seal_summary(document, data_dir, key, NOW)
        measure("HTML", lambda: render_html(record, labels, key))
        measure("WebVTT", lambda: render_vtt(record, labels, key))
        measure("JSON", lambda: render_json(record))
        print(f"  PDF: {len(pdf) / 1024:.0f} KiB")
        measure("verify PDF (no recordings)", lambda: verify_export(pdf, [key.public_key()]))

        # A large recording set: four tracks sharing --gigabytes.
        big = data_dir / "big"
        size = int(args.gigabytes * 2**30)
        per_file = size // len(document["recordings"])
        chunk = os.urandom(4 * 2**20)
        for rec in document["recordings"]:
            path = big / "recordings" / rec["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as out:
                written = 0
                while written < per_file:
                    part = chunk[: min(len(chunk), per_file - written)]
                    out.write(part)
                    written += len(part)
        print(f"recording set: {len(document['recordings'])} files, {size / 2**30:.2f} GiB")
        sealed = measure("seal (hash every file)", lambda: seal_summary(document, big, key, NOW))
        data = render_json(sealed)
        report = measure(
            "verify JSON with recordings", lambda: verify_export(data, [key.public_key()], big)
        )
        assert report.ok, report.problems  # a broken benchmark must not print figures
        shutil.rmtree(big)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"peak RSS of the process: {usage.ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
