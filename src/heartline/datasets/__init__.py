"""Dataset readers: ESConv, MESC, MELD, GoEmotions, ESD-CoT (Dialogue), ESC-Eval role cards
(RoleCard), RAVDESS and FER2013 (MediaSample); one `load(spec)` entry point, SMES-format
serialisation, split-leakage checks and statistics."""

from heartline.datasets.esc_eval import read_role_cards
from heartline.datasets.esconv import read_esconv
from heartline.datasets.esd_cot import read_esd_cot
from heartline.datasets.goemotions import read_goemotions
from heartline.datasets.leakage import Leak, PairSummary, find_leaks, fingerprint, summarise
from heartline.datasets.media import read_fer2013, read_ravdess
from heartline.datasets.meld import read_meld
from heartline.datasets.mesc import read_mesc, split_cues
from heartline.datasets.records import MediaSample, RoleCard
from heartline.datasets.registry import (
    FORMATS,
    Spec,
    detect_format,
    load,
    load_dialogues,
    parse_spec,
    read_spec,
)
from heartline.datasets.smes import SmesSample, to_smes_samples
from heartline.datasets.stats import DatasetStats, compute_stats

__all__ = [
    "FORMATS",
    "DatasetStats",
    "Leak",
    "MediaSample",
    "PairSummary",
    "RoleCard",
    "SmesSample",
    "Spec",
    "compute_stats",
    "detect_format",
    "find_leaks",
    "fingerprint",
    "load",
    "load_dialogues",
    "parse_spec",
    "read_esconv",
    "read_esd_cot",
    "read_fer2013",
    "read_goemotions",
    "read_meld",
    "read_mesc",
    "read_ravdess",
    "read_role_cards",
    "read_spec",
    "split_cues",
    "summarise",
    "to_smes_samples",
]
