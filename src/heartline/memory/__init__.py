"""Memory: the durable session store and the bounded conversation history for prompts."""

from heartline.memory.history import HistoryWindow, bounded_history, utterances_from_turns
from heartline.memory.store import SessionInfo, SessionStore
from heartline.memory.summary import summarize_turns
from heartline.memory.tokens import truncate_to_tokens

__all__ = [
    "HistoryWindow",
    "SessionInfo",
    "SessionStore",
    "bounded_history",
    "summarize_turns",
    "truncate_to_tokens",
    "utterances_from_turns",
]
