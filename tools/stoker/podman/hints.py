"""Did-you-mean hints: the closest known word to a misspelt one.

    closest("Imag", ["Image", "Exec"])      -> "Image"
    closest("image", ["Image"])             -> "Image"   (case alone differs)
    closest("Frobnicate", ["Image"])        -> None
"""

from __future__ import annotations

import difflib
from typing import Iterable

# difflib's ratio; 0.75 catches one or two wrong letters in short names without
# suggesting an unrelated word for a long one.
_CUTOFF = 0.75


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known word nearest to `word`, compared case-insensitively, or None if none is close."""
    by_lower = {k.lower(): k for k in known}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=_CUTOFF)
    return by_lower[match[0]] if match else None


def did_you_mean(word: str, known: Iterable[str], quote: str = "'") -> str:
    """The suffix "; did you mean 'X'?" for the closest known word, or "" when none is close."""
    hit = closest(word, known)
    return f"; did you mean {quote}{hit}{quote}?" if hit and hit != word else ""
