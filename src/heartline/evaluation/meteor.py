"""METEOR 1.5 (Denkowski & Lavie, 2014) as coco-caption / nlg-eval run it, offline.

NLTK's ``meteor_score`` needs WordNet from NLTK's data hub, which cannot be fetched here,
and no PyPI package ships it. The original Java METEOR 1.5 jar, with its English paraphrase
table, ships in the ``pycocoevalcap`` wheel (the ``meteor`` extra); it needs a Java runtime.
This is the METEOR that ESConv's ``infer.py --add_nlg_eval`` path reports (through
nlg-eval): hypotheses and references are lower-cased and NLTK-tokenised first, then the jar
runs with ``-l en -norm`` and its corpus-level ``EVAL`` score is taken.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from heartline.errors import HeartlineError
from heartline.evaluation.tokenize import esconv_tokenize

log = logging.getLogger(__name__)

JAVA_HEAP = "-Xmx2G"
METEOR_HINT = ("install the METEOR extra (pip install -e '.[meteor]') and a Java runtime "
               "(apt-get install default-jre-headless)")


def meteor_jar() -> Path:
    """The METEOR 1.5 jar inside the installed ``pycocoevalcap`` package."""
    spec = importlib.util.find_spec("pycocoevalcap")
    if spec is None or not spec.submodule_search_locations:
        raise HeartlineError("METEOR needs the pycocoevalcap package", hint=METEOR_HINT)
    jar = Path(next(iter(spec.submodule_search_locations))) / "meteor" / "meteor-1.5.jar"
    if not jar.is_file():
        raise HeartlineError(f"{jar} is missing", hint=METEOR_HINT)
    return jar


def meteor_available() -> str | None:
    """None when METEOR can run here, else the reason it cannot."""
    if shutil.which("java") is None:
        return "no Java runtime on PATH"
    try:
        meteor_jar()
    except HeartlineError as exc:
        return str(exc).splitlines()[0]
    return None


def _line(text: str) -> str:
    """One field of METEOR's ``|||``-separated protocol (as coco-caption cleans it)."""
    return text.replace("|||", "").replace("  ", " ").replace("\n", " ")


def meteor(hypotheses: Sequence[str], references: Sequence[str], tokenize: bool = True) -> float:
    """Corpus METEOR 1.5 (0-100) from the jar's aggregate ``EVAL`` line.

    With ``tokenize`` (default) texts become ESConv tokens joined by spaces first, as
    ESConv's nlg-eval path does. Starting the jar takes ~20 s (it loads its paraphrases).
    """
    if len(hypotheses) != len(references):
        raise HeartlineError(f"{len(hypotheses)} hypotheses but {len(references)} references",
                             hint="pass one reference per hypothesis, in the same order")
    if not hypotheses:
        raise HeartlineError("no hypotheses to score", hint="pass at least one response")
    reason = meteor_available()
    if reason:
        raise HeartlineError(f"METEOR cannot run: {reason}", hint=METEOR_HINT)
    if tokenize:
        hypotheses = [" ".join(esconv_tokenize(h)) for h in hypotheses]
        references = [" ".join(esconv_tokenize(r)) for r in references]
    jar = meteor_jar()
    command = ["java", "-jar", JAVA_HEAP, str(jar), "-", "-", "-stdio", "-l", "en", "-norm"]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, cwd=jar.parent, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=stderr, text=True,
                                   encoding="utf-8", bufsize=1)
        assert process.stdin is not None and process.stdout is not None

        def ask(request: str) -> str:
            process.stdin.write(request + "\n")
            process.stdin.flush()
            answer = process.stdout.readline().strip()
            if not answer:
                stderr.seek(0)
                detail = stderr.read().decode("utf-8", "replace").strip()[-500:]
                raise HeartlineError(f"the METEOR jar stopped answering: {detail}",
                                     hint="check that `java -version` works and 2 GB of "
                                          "memory are free")
            return answer

        try:
            stats = [ask(f"SCORE ||| {_line(ref)} ||| {_line(hyp)}")
                     for hyp, ref in zip(hypotheses, references)]
            ask("EVAL ||| " + " ||| ".join(stats))  # first answer: segment 1's score
            for _ in range(len(stats) - 1):
                process.stdout.readline()  # the other segments' scores
            score = float(process.stdout.readline().strip())
        finally:
            process.stdin.close()
            process.kill()
            process.wait()
    log.info("METEOR over %d pairs: %.4f", len(stats), score)
    return 100.0 * score
