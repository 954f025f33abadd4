"""`heartline train ...`: train the project's models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from heartline.cli import app
from heartline.cli._options import TargetsOption, checked_targets

train_app = typer.Typer(help="Train models.", no_args_is_help=True)
app.add_typer(train_app, name="train")


# --------------------------------------------------------------------------- heads on embeddings

DataOption = Annotated[list[str], typer.Option(
    "--data", help="Training data, FORMAT:PATH[#SPLIT] (repeatable), e.g. esconv:data/esconv/train.txt.")]
ValidOption = Annotated[list[str], typer.Option(
    "--valid", help="Validation data for model selection and the reported figures (repeatable).")]
OutOption = Annotated[Path, typer.Option("--out", help="Model directory to write.")]
EmotionHeadOption = Annotated[str, typer.Option(help="Text emotion head: a shipped name or a directory.")]
SeedOption = Annotated[int, typer.Option(help="Random seed.")]


def _command(kind: str, data: list[str], valid: list[str], out: Path, extra: str = "") -> str:
    parts = [f"heartline train {kind}", *(f"--data {d}" for d in data), *(f"--valid {v}" for v in valid)]
    return " ".join(parts + ([extra] if extra else []) + [f"--out {out}"])


def _table(title: str, rows: dict[str, dict], with_bias: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("valid set", "n", "accuracy", "W-F1", "macro-F1 (Q)") + (("B",) if with_bias else ()):
        table.add_column(column, justify="left" if column == "valid set" else "right")
    for name, m in rows.items():
        cells = [name, str(m["n"]), f"{100 * m['accuracy']:.2f}", f"{100 * m['weighted_f1']:.2f}",
                 f"{100 * m['macro_f1']:.2f}"]
        table.add_row(*cells, *([f"{m['preference_bias']:.3f}"] if with_bias else []))
    Console().print(table)


@train_app.command("emotion")
def train_emotion_cmd(
    data: DataOption, valid: ValidOption, out: OutOption,
    seed: SeedOption = 0,
) -> None:
    """Text emotion head (canonical 7 emotions) on MiniLM embeddings of a message and its previous turn."""
    from heartline.training.emotion import train_emotion

    metrics = train_emotion(data, valid, out, seed=seed, command=_command("emotion", data, valid, out))
    _table(f"text emotion head -> {out}", metrics, with_bias=False)


@train_app.command("strategy")
def train_strategy_cmd(
    data: DataOption, valid: ValidOption, out: OutOption,
    emotion_head: EmotionHeadOption = "text-emotion", seed: SeedOption = 0,
    targets: TargetsOption = "every",
) -> None:
    """Strategy head (ESConv or MESC taxonomy) with prior correction against preference bias."""
    from heartline.training.strategy import train_strategy

    chosen = checked_targets(targets)
    extra = f"--emotion-head {emotion_head}" + ("" if chosen == "every" else f" --targets {chosen}")
    command = _command("strategy", data, valid, out, extra)
    metrics = train_strategy(data, valid, out, emotion_head=emotion_head, seed=seed, targets=chosen,
                             command=command)
    bias = metrics["bias"]
    control = bias["method"] + (f", alpha {bias['alpha']}" if bias["method"] == "prior" else "")
    _table(f"strategy head -> {out} (bias control: {control})",
           {"valid": metrics["valid"], **({"valid, first replies": metrics["valid_first_replies"]}
                                          if "valid_first_replies" in metrics else {}),
            "valid, no correction": metrics["valid_uncorrected"]}, with_bias=True)


@train_app.command("safety")
def train_safety_cmd(
    out: OutOption,
    ordinary: Annotated[list[str], typer.Option(
        "--ordinary", help="Train splits to mine ordinary messages and supporter replies from, FORMAT:PATH "
        "(repeatable), e.g. esconv:data/esconv/train.txt.")],
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the data (early stopping may end sooner).")] = 3,
    limit: Annotated[int, typer.Option(min=0, help="Ordinary messages (and supporter replies) per corpus.")] = 1000,
    lr: Annotated[float, typer.Option(help="Learning rate of the LoRA matrices and heads.")] = 6e-4,
    base_model: Annotated[str, typer.Option(help="Catalogue encoder to fine-tune.")] = "multilingual-e5-small",
    seed: SeedOption = 0,
) -> None:
    """Crisis classifier: an encoder fine-tuned with LoRA on messages in context (risk, whose, harmful reply).

    Resumes from OUT/checkpoint when interrupted. See docs/safety.md.
    """
    from rich.console import Console
    from rich.table import Table

    from heartline.training.finetune import FineTuneConfig
    from heartline.training.safety import train_safety

    command = " ".join(["heartline train safety", *(f"--ordinary {o}" for o in ordinary), f"--out {out}",
                        f"--epochs {epochs}", f"--limit {limit}", f"--lr {lr:g}", f"--seed {seed}"])
    metrics = train_safety(ordinary, out, config=FineTuneConfig(epochs=epochs, lr=lr, seed=seed), limit=limit,
                           base_model=base_model, command=command)
    v, t = metrics["valid"], metrics["thresholds"]
    table = Table(title=f"crisis classifier -> {out} (held-out tenth, %; crisis at {t['crisis_at']}, "
                        f"harmful at {t['harmful_at']})")
    columns = ("crisis_recall", "none_at_crisis", "elevated_at_crisis", "ordinary_at_crisis", "category_right",
               "whose_right", "harmful_blocked", "safe_blocked")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    table.add_row(*("–" if v[c] is None else f"{100 * v[c]:.1f}" for c in columns))
    Console().print(table)


@train_app.command("system-emotion")
def train_system_emotion_cmd(
    data: DataOption, valid: ValidOption, out: OutOption,
    emotion_head: EmotionHeadOption = "text-emotion", seed: SeedOption = 0,
) -> None:
    """System-emotion head (the supporter's tone) from MESC therapist turns."""
    from heartline.training.system_emotion import train_system_emotion

    command = _command("system-emotion", data, valid, out, f"--emotion-head {emotion_head}")
    metrics = train_system_emotion(data, valid, out, emotion_head=emotion_head, seed=seed, command=command)
    _table(f"system-emotion head -> {out}", {"valid": metrics["valid"]}, with_bias=False)
