"""LLM backends behind one interface, and the prompts the pipeline sends them."""

from heartline.llm.base import ChatMessage, Generation, GenerationParams, LLMBackend, TokenCallback

__all__ = ["ChatMessage", "Generation", "GenerationParams", "LLMBackend", "TokenCallback"]
