"""Training: classifier heads on sentence embeddings (text emotion, strategy, system emotion)."""
