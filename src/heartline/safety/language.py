"""Which of the protocol's languages a message is in: a count of each language's commonest words.

Enough to word the crisis protocol in the person's language (English, Spanish, French, German,
Portuguese, Italian); a message with too few telling words is English.
"""

from __future__ import annotations

import re
import unicodedata

_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and i you to it is my me not that this have was what with just dont im can be so for "
                    "of but are all do at they he she want feel know anymore".split()),
    "es": frozenset("el la los las y que de en un una no me mi mis yo es por para con lo se te ya pero muy "
                    "esta estoy quiero q xq porque tengo nadie mas nada vida hoy noche como".split()),
    "fr": frozenset("le la les et je tu il elle de des un une ne pas me mon ma mes est suis que qui pour avec "
                    "ce ca plus rien veux jai personne vie ce soir cest chez moi ai y au du sur dans fait va toute pis "
                    "chui jpp mdr ptdr qu on nous vous toi ton ta sais".split()),
    "de": frozenset("der die das und ich du er sie nicht ist bin mein meine mich mir ein eine zu mit auf "
                    "den dem es was kann will mehr nichts heute nacht leben keiner auch schon nich hab habe grad wie viele man "
                    "wir uns im beim bei hat sich wenn sind noch jetzt zum uber gestern dass nimma nimmer i isch "
                    "hab mi is des gibts alles eh".split()),
    "pt": frozenset("o a os as e que de em um uma nao me eu meu minha minhas voce vc pra para com se ja mais "
                    "nada vida hoje noite estou quero tenho ninguem isso muito pq tô to".split()),
    "it": frozenset("il lo la i gli le e che di in un una non mi io mio mia sono per con si gia piu niente "
                    "vita oggi stanotte voglio ho nessuno questo molto nn ce sta sto".split()),
}
_LETTERS: dict[str, str] = {"ä": "de", "ö": "de", "ü": "de", "ß": "de", "ñ": "es", "¿": "es", "¡": "es",
                            "ã": "pt", "õ": "pt", "ç": "fr pt", "ê": "fr pt", "â": "fr pt", "ô": "fr pt",
                            "î": "fr", "û": "fr", "ë": "fr", "ï": "fr", "à": "fr pt it", "è": "fr it",
                            "ì": "it", "ò": "it", "ù": "it fr", "á": "es pt", "í": "es pt", "ó": "es pt",
                            "ú": "es pt"}
"""Letters only some of these languages write (each counts half a word)."""
_WORD = re.compile(r"[a-zß]+")
MIN_HITS = 2


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in folded if not unicodedata.combining(c)).replace("'", " ").replace("’", " ")


def detect_language(text: str) -> str:
    """'en', 'es', 'fr', 'de', 'pt' or 'it': the language whose common words the text uses most."""
    words = _WORD.findall(_plain(text))
    scores = {lang: float(sum(w in common for w in words)) for lang, common in _WORDS.items()}
    for ch in text.lower():
        for lang in _LETTERS.get(ch, "").split():
            scores[lang] += 0.5
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    if best != "en" and (scores[best] < MIN_HITS or scores[best] <= scores["en"]):
        return "en"
    return best
