"""`heartline bench ...`: measure speed and memory of pipeline stages on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from heartline.cli import app

bench_app = typer.Typer(help="Benchmark pipeline stages (latency, throughput, memory).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("perceive")
def bench_perceive(
    seconds: Annotated[float, typer.Option(min=1.0, help="Length of the filmed turn to perceive.")] = 5.0,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs per measure (the median is reported).")] = 3,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the JSON results.")] = Path("bench-perceive.json"),
) -> None:
    """VAD and ASR real-time factors, face frames/s, a filmed turn end to end, peak memory."""
    import json

    from rich.console import Console
    from rich.table import Table

    from heartline.config import Settings
    from heartline.perception.bench import run

    result = run(Settings().perception, seconds=seconds, repeats=repeats)
    f = result["figures"]
    table = Table(title=f"bench perceive ({seconds:g} s clip, median of {repeats}; load {result['machine']['load_average_1m']:.1f})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    rows = [
        ("VAD real-time factor", f"{f['vad_rtf']:.3f}", ""),
        ("ASR real-time factor", f"{f['asr_rtf']:.3f}", _target(result, "asr_rtf", "≤ 0.3")),
        ("voice emotion (features + head)", f"{f['voice_emotion_s']:.2f} s", ""),
        ("video decode", f"{f['video_decode_s']:.2f} s", ""),
        ("face frames per second", f"{f['face_fps']:.1f} ({f['face_frames']} frames)", ""),
        ("filmed turn, end to end", f"{f['clip_s']:.2f} s", _target(result, "clip_s", "≤ 2 s")),
        ("  audio half / video half", f"{f['clip_voice_half_s']:.2f} s / {f['clip_face_half_s']:.2f} s", ""),
        ("  overlap (halves / wall)", f"{f['overlap']:.2f}×", ""),
        ("model loading (voice, face)", f"{f['voice_models_s']:.1f} s, {f['face_models_s']:.1f} s", ""),
        ("peak RSS", f"{f['peak_rss_mb']:.0f} MB", ""),
    ]
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(f"transcript: {result['check']['transcript']!r}; cues: {result['check']['perception']['cues']!r}")
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {out}")


def _target(result: dict, name: str, text: str) -> str:
    met = result["targets"][name]["met"]
    return f"[green]{text} ✓[/]" if met else f"[red]{text} ✗[/]"
