"""Perception: transcript, per-modality emotions, fused user emotion and cue description."""

from heartline.perception.perceiver import Perceiver

__all__ = ["Perceiver"]
