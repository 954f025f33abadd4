"""Planning: choose the strategy and the supporter's tone for the next reply."""

from heartline.planning.base import Planner, StrategyStep, SystemEmotionStep, UserEmotionStep

__all__ = ["Planner", "StrategyStep", "SystemEmotionStep", "UserEmotionStep"]
