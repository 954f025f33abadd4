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


@bench_app.command("safety")
def bench_safety(
    data: Annotated[str, typer.Option("--data", help="Dialogues whose seeker messages and supporter replies are timed.")]
    = "esconv:../shared/data/esconv/valid.txt",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Dialogues to use.")] = 100,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the JSON results.")] = Path("bench-safety.json"),
) -> None:
    """The safety gate with context, and the reply screen: median / p90 / max ms per message."""
    import json

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from heartline.benchmarks.safety import run
    from heartline.datasets import load_dialogues
    from heartline.safety import SafetyGate

    dialogues = load_dialogues(data)[:limit]
    with Progress(TextColumn("timing"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
        task = bar.add_task("timing", total=len(dialogues))
        result = run(dialogues, SafetyGate(), advance=lambda: bar.advance(task))
    result["data"], result["dialogues"] = data, len(dialogues)
    m = result["machine"]
    table = Table(title=f"bench safety · {data} · {len(dialogues)} dialogues · {m['cpu']}, {m['cores']} cores, "
                        f"load {m['load_average_1m']:.1f}")
    for column in ("what", "calls", "median ms", "p90 ms", "max ms", "target"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for name, key in (("gate, message with context", "gate_ms"), ("reply screen, per reply", "screen_ms")):
        t = result[key]
        if t["n"]:
            table.add_row(name, str(t["n"]), f"{t['median']:.1f}", f"{t['p90']:.1f}", f"{t['max']:.1f}", "median ≤ 30")
    Console().print(table)
    if result["degraded"]:
        Console().print(f"[yellow]{result['degraded']}[/]")
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    Console().print(f"wrote {out}")
