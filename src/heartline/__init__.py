"""heartline: multimodal emotional-support conversation system and research toolkit."""

__version__ = "0.1.0"
