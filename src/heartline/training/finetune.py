"""Fine-tune an encoder end to end with LoRA and softmax heads (torch; CPU or GPU unchanged).

The shared machinery of every fine-tuned classifier (the crisis classifier first; emotion and
strategy encoders next). `TorchEncoder` is the BERT encoder of `heartline.embeddings` in torch,
built from the same `model.safetensors`, with LoRA on every linear layer of every block
(query, key, value, attention output, up and down projections); only the LoRA matrices and the
heads train. `fine_tune` runs the loop: length-bucketed shuffled batches, AdamW with warm-up
and linear decay, class-weighted cross-entropy per head (a head whose target is missing for an
example skips it), bf16 autocast on CPU when asked, evaluation on valid after each epoch with
early stopping on a score the task chooses, and a checkpoint (safetensors + JSON, no pickle)
every `checkpoint_every` steps that a rerun resumes from. The best epoch is written as an
adapter directory that `heartline.finetuned.FineTunedEncoder` runs in NumPy.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F

from heartline.finetuned import ADAPTER_FILE, CONFIG_FILE

log = logging.getLogger(__name__)

LORA_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense")
CHECKPOINT_DIR = "checkpoint"


@dataclass
class FineTuneConfig:
    """How to fine-tune; saved beside the adapter."""

    lora_r: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.1
    head_dropout: float = 0.1
    lr: float = 8e-4
    weight_decay: float = 0.01
    epochs: int = 5
    batch_size: int = 32
    warmup: float = 0.06
    patience: int = 2
    """Epochs without a better valid score before stopping."""
    class_weight_power: float = 0.5
    """Class weights (1 / frequency) ** power: 0 none, 1 fully balanced."""
    seed: int = 0
    precision: str = "bf16"
    """'bf16' (autocast; CPU and recent GPUs) or 'fp32'."""
    checkpoint_every: int = 200
    device: str | None = None
    """None: cuda when available, else cpu."""


@dataclass
class Example:
    """One training input: word-piece ids and segment ids, and a label index per head it has."""

    ids: list[int]
    types: list[int]
    targets: dict[str, int]
    weight: float = 1.0


@dataclass
class FineTuneResult:
    best_epoch: int
    best_score: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update scale * B @ A."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, r: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.bias = nn.Parameter(bias, requires_grad=False)
        self.lora_A = nn.Parameter(torch.empty(r, weight.shape[1]))
        self.lora_B = nn.Parameter(torch.zeros(weight.shape[0], r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale = alpha / r
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias) + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scale


class _Block(nn.Module):
    def __init__(self, w: dict[str, torch.Tensor], prefix: str, heads: int, eps: float, cfg: FineTuneConfig) -> None:
        super().__init__()

        def lora(name: str) -> LoRALinear:
            return LoRALinear(w[f"{prefix}.{name}.weight"], w[f"{prefix}.{name}.bias"],
                              cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)

        def norm(name: str) -> nn.LayerNorm:
            layer = nn.LayerNorm(w[f"{prefix}.{name}.weight"].shape[0], eps=eps)
            layer.weight = nn.Parameter(w[f"{prefix}.{name}.weight"], requires_grad=False)
            layer.bias = nn.Parameter(w[f"{prefix}.{name}.bias"], requires_grad=False)
            return layer

        self.query, self.key, self.value = (lora(f"attention.self.{n}") for n in ("query", "key", "value"))
        self.attn_out = lora("attention.output.dense")
        self.ln1 = norm("attention.output.LayerNorm")
        self.up = lora("intermediate.dense")
        self.down = lora("output.dense")
        self.ln2 = norm("output.LayerNorm")
        self.heads = heads

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        hd = d // self.heads

        def split(h: torch.Tensor) -> torch.Tensor:
            return h.view(b, t, self.heads, hd).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        h = self.ln1(self.attn_out(ctx.transpose(1, 2).reshape(b, t, d)) + x)
        return self.ln2(self.down(F.gelu(self.up(h))) + h)

    def adapters(self, prefix: str) -> dict[str, LoRALinear]:
        layers = (self.query, self.key, self.value, self.attn_out, self.up, self.down)
        return {f"{prefix}.{name}": layer for name, layer in zip(LORA_TARGETS, layers)}


class TorchEncoder(nn.Module):
    """The BERT encoder of a sentence-transformers directory, LoRA-adapted, with heads on mean pooling."""

    def __init__(self, model_dir: Path, heads: dict[str, Sequence[str]], cfg: FineTuneConfig) -> None:
        super().__init__()
        config = json.loads((Path(model_dir) / "config.json").read_text())
        w = {k: v.float() for k, v in load_file(Path(model_dir) / "model.safetensors").items()
             if not k.endswith("position_ids")}
        eps = float(config.get("layer_norm_eps", 1e-12))
        self.word = nn.Parameter(w["embeddings.word_embeddings.weight"], requires_grad=False)
        self.pos = nn.Parameter(w["embeddings.position_embeddings.weight"], requires_grad=False)
        self.types = nn.Parameter(w["embeddings.token_type_embeddings.weight"], requires_grad=False)
        self.ln = nn.LayerNorm(self.word.shape[1], eps=eps)
        self.ln.weight = nn.Parameter(w["embeddings.LayerNorm.weight"], requires_grad=False)
        self.ln.bias = nn.Parameter(w["embeddings.LayerNorm.bias"], requires_grad=False)
        self.blocks = nn.ModuleList(
            _Block(w, f"encoder.layer.{i}", int(config["num_attention_heads"]), eps, cfg)
            for i in range(int(config["num_hidden_layers"]))
        )
        dim = int(config["hidden_size"])
        self.drop = nn.Dropout(cfg.head_dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(dim, len(labels)) for name, labels in heads.items()})

    def pooled(self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        x = self.ln(F.embedding(ids, self.word) + self.pos[:t] + F.embedding(types, self.types))
        bias = ((1.0 - mask) * -1e4)[:, None, None, :]
        for block in self.blocks:
            x = block(x, bias)
        x = x.float()
        return (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)

    def forward(self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.drop(self.pooled(ids, types, mask))
        return {name: head(h) for name, head in self.heads.items()}

    def trainable(self) -> dict[str, torch.Tensor]:
        """The weights that train (and ship): LoRA matrices by base weight name, and the heads."""
        out: dict[str, torch.Tensor] = {}
        for i, block in enumerate(self.blocks):
            for name, layer in block.adapters(f"encoder.layer.{i}").items():
                out[f"{name}.weight.lora_A"] = layer.lora_A
                out[f"{name}.weight.lora_B"] = layer.lora_B
        for name, head in self.heads.items():
            out[f"head.{name}.weight"] = head.weight
            out[f"head.{name}.bias"] = head.bias
        return out


def _batch(examples: Sequence[Example], heads: Sequence[str], device: torch.device) -> tuple[torch.Tensor, ...]:
    t = max(len(e.ids) for e in examples)
    ids = torch.zeros(len(examples), t, dtype=torch.long)
    types = torch.zeros(len(examples), t, dtype=torch.long)
    mask = torch.zeros(len(examples), t)
    for i, e in enumerate(examples):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        types[i, : len(e.types)] = torch.tensor(e.types)
        mask[i, : len(e.ids)] = 1.0
    targets = torch.tensor([[e.targets.get(h, -100) for h in heads] for e in examples], dtype=torch.long)
    weights = torch.tensor([e.weight for e in examples])
    return ids.to(device), types.to(device), mask.to(device), targets.to(device), weights.to(device)


def _batches(examples: Sequence[Example], size: int, rng: np.random.Generator) -> list[list[int]]:
    """Shuffled batches of similar length (little padding): sort a shuffle in chunks of 50 batches."""
    order = rng.permutation(len(examples))
    chunk = size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(examples[i].ids))
        batches += [part[i : i + size] for i in range(0, len(part), size)]
    rng.shuffle(batches)
    return batches


def class_weights(examples: Sequence[Example], heads: dict[str, Sequence[str]], power: float) -> dict[str, torch.Tensor]:
    """Per head, (1 / class frequency) ** power, normalised to mean 1 over the classes present."""
    out = {}
    for name, labels in heads.items():
        counts = np.bincount([e.targets[name] for e in examples if name in e.targets], minlength=len(labels))
        w = np.where(counts > 0, (1.0 / np.maximum(counts, 1)) ** power, 0.0)
        w = w / max(w[counts > 0].mean(), 1e-12) if (counts > 0).any() else np.ones(len(labels))
        out[name] = torch.tensor(w, dtype=torch.float32)
    return out


def predict(model: TorchEncoder, examples: Sequence[Example], device: torch.device, cfg: FineTuneConfig,
            batch_size: int = 64) -> dict[str, np.ndarray]:
    """Every head's probabilities for `examples`, in order."""
    model.eval()
    heads = list(model.heads)
    out: dict[str, list[np.ndarray]] = {h: [] for h in heads}
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].ids))
    with torch.no_grad(), _autocast(device, cfg):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            ids, types, mask, _, _ = _batch([examples[i] for i in idx], heads, device)
            logits = model(ids, types, mask)
            for h in heads:
                out[h].append(torch.softmax(logits[h].float(), -1).cpu().numpy())
    inverse = np.argsort(order)
    return {h: np.concatenate(v)[inverse] for h, v in out.items()}


def _autocast(device: torch.device, cfg: FineTuneConfig) -> Any:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")


def fine_tune(
    model_dir: Path,
    heads: dict[str, Sequence[str]],
    train: Sequence[Example],
    valid: Sequence[Example],
    score: Callable[[dict[str, np.ndarray]], float],
    out_dir: Path,
    cfg: FineTuneConfig,
    *,
    base_model: str,
    max_tokens: int,
    first_tokens: int,
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[TorchEncoder, FineTuneResult]:
    """Fine-tune and write the best epoch's adapter to `out_dir` (checkpoints under it).

    `score(valid probabilities per head)` ranks epochs (higher is better). `progress(done,
    total, status)` is called after every step. A rerun with the same arguments resumes from
    the last checkpoint in `out_dir`.
    """
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(cfg.seed)
    model = TorchEncoder(model_dir, heads, cfg).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warm = max(1, int(cfg.warmup * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    weights = {h: w.to(device) for h, w in class_weights(train, heads, cfg.class_weight_power).items()}
    names = list(heads)
    state = _resume(out_dir / CHECKPOINT_DIR, model, optimizer, scheduler)
    result = FineTuneResult(best_epoch=state.get("best_epoch", -1), best_score=state.get("best_score", -math.inf),
                            history=state.get("history", []))
    step, stale = state.get("step", 0), state.get("stale", 0)
    started = time.perf_counter()
    for epoch in range(step // steps_per_epoch, cfg.epochs):
        if stale >= cfg.patience:
            break
        batches = _batches(train, cfg.batch_size, np.random.default_rng(cfg.seed + epoch))
        model.train()
        for b_index in range(step - epoch * steps_per_epoch, len(batches)):
            ids, types, mask, targets, ex_weights = _batch([train[i] for i in batches[b_index]], names, device)
            with _autocast(device, cfg):
                logits = model(ids, types, mask)
            loss = torch.zeros((), device=device)
            for j, h in enumerate(names):
                y = targets[:, j]
                keep = y >= 0
                if keep.any():
                    per = F.cross_entropy(logits[h][keep].float(), y[keep], weight=weights[h], reduction="none")
                    loss = loss + (per * ex_weights[keep]).sum() / ex_weights[keep].sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            if progress:
                progress(step, total, f"epoch {epoch + 1} loss {loss.item():.3f}")
            if step % cfg.checkpoint_every == 0:
                _checkpoint(out_dir / CHECKPOINT_DIR, model, optimizer, scheduler,
                            {"step": step, "stale": stale, "best_epoch": result.best_epoch,
                             "best_score": result.best_score, "history": result.history})
        value = score(predict(model, valid, device, cfg))
        result.history.append({"epoch": epoch + 1, "score": value, "step": step})
        log.info("epoch %d: valid score %.4f", epoch + 1, value)
        if value > result.best_score or result.best_epoch < 0:
            result.best_epoch, result.best_score, stale = epoch + 1, value, 0
            write_adapter(model, out_dir, cfg, base_model=base_model, heads=heads,
                          max_tokens=max_tokens, first_tokens=first_tokens)
        else:
            stale += 1
        _checkpoint(out_dir / CHECKPOINT_DIR, model, optimizer, scheduler,
                    {"step": step, "stale": stale, "best_epoch": result.best_epoch,
                     "best_score": result.best_score, "history": result.history})
    result.seconds = time.perf_counter() - started
    load_adapter_into(model, out_dir)
    return model, result


def write_adapter(model: TorchEncoder, out_dir: Path, cfg: FineTuneConfig, *, base_model: str,
                  heads: dict[str, Sequence[str]], max_tokens: int, first_tokens: int) -> None:
    """The adapter directory's tensors and base config (the task adds its own keys later)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in model.trainable().items()}
    save_file(tensors, str(out_dir / ADAPTER_FILE))
    config = {
        "base_model": base_model,
        "lora": {"r": cfg.lora_r, "alpha": cfg.lora_alpha, "scale": cfg.lora_alpha / cfg.lora_r,
                 "targets": list(LORA_TARGETS)},
        "heads": {name: list(labels) for name, labels in heads.items()},
        "max_tokens": max_tokens,
        "first_tokens": first_tokens,
        "fine_tune": asdict(cfg),
    }
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def load_adapter_into(model: TorchEncoder, out_dir: Path) -> None:
    """Copy a written adapter's tensors back into `model` (the best epoch, after training)."""
    tensors = load_file(str(out_dir / ADAPTER_FILE))
    with torch.no_grad():
        for name, param in model.trainable().items():
            param.copy_(tensors[name].to(param.device))


def _checkpoint(directory: Path, model: TorchEncoder, optimizer: torch.optim.Optimizer,
                scheduler: Any, state: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.trainable().items()}
    opt = optimizer.state_dict()
    for index, slots in opt["state"].items():
        for slot, value in slots.items():
            tensors[f"opt.{index}.{slot}"] = value.detach().cpu().reshape(-1 if value.ndim == 0 else value.shape).contiguous()
    tmp = directory / "state.safetensors.partial"
    save_file(tensors, str(tmp))
    tmp.replace(directory / "state.safetensors")
    meta = {**state, "scheduler": scheduler.state_dict(), "param_groups": opt["param_groups"],
            "torch_rng": torch.get_rng_state().tolist()}
    (directory / "state.json").write_text(json.dumps(meta), encoding="utf-8")


def _resume(directory: Path, model: TorchEncoder, optimizer: torch.optim.Optimizer, scheduler: Any) -> dict[str, Any]:
    if not (directory / "state.json").is_file() or not (directory / "state.safetensors").is_file():
        return {}
    meta = json.loads((directory / "state.json").read_text(encoding="utf-8"))
    tensors = load_file(str(directory / "state.safetensors"))
    with torch.no_grad():
        for name, param in model.trainable().items():
            param.copy_(tensors[f"model.{name}"])
    states: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, slot = key.split(".", 2)
            states.setdefault(int(index), {})[slot] = value.reshape(()) if slot == "step" else value
    optimizer.load_state_dict({"state": states, "param_groups": meta["param_groups"]})
    scheduler.load_state_dict(meta["scheduler"])
    torch.set_rng_state(torch.tensor(meta["torch_rng"], dtype=torch.uint8))
    log.info("resuming from step %d", meta["step"])
    return meta
