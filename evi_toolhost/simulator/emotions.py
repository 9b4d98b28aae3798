"""The 48 expressions Hume's prosody model scores, and made-up scores for a simulated message.

Hume puts the scores of each spoken message into its history event's `emotion_features` (JSON text, values 0-1).
The simulator hears no audio, so unless a test gives scores it derives them from the text: the same text always
gets the same scores, so what a test sees is repeatable.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping

EXPRESSIONS = (
    "Admiration",
    "Adoration",
    "Aesthetic Appreciation",
    "Amusement",
    "Anger",
    "Anxiety",
    "Awe",
    "Awkwardness",
    "Boredom",
    "Calmness",
    "Concentration",
    "Confusion",
    "Contemplation",
    "Contempt",
    "Contentment",
    "Craving",
    "Desire",
    "Determination",
    "Disappointment",
    "Disgust",
    "Distress",
    "Doubt",
    "Ecstasy",
    "Embarrassment",
    "Empathic Pain",
    "Entrancement",
    "Envy",
    "Excitement",
    "Fear",
    "Guilt",
    "Horror",
    "Interest",
    "Joy",
    "Love",
    "Nostalgia",
    "Pain",
    "Pride",
    "Realization",
    "Relief",
    "Romance",
    "Sadness",
    "Satisfaction",
    "Shame",
    "Surprise (negative)",
    "Surprise (positive)",
    "Sympathy",
    "Tiredness",
    "Triumph",
)


def made_up_scores(text: str) -> dict[str, float]:
    """Scores for every expression, low except for a few, fixed by the text."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    scores = {name: round(rng.uniform(0.0, 0.15), 4) for name in EXPRESSIONS}
    for name in rng.sample(EXPRESSIONS, 3):
        scores[name] = round(rng.uniform(0.3, 0.9), 4)
    return scores


def emotion_features(text: str, given: Mapping[str, float] | None = None) -> str:
    """The `emotion_features` text of a message: every expression, with `given` scores where given."""
    scores = made_up_scores(text)
    if given:
        scores = {name: 0.0 for name in EXPRESSIONS} | dict(given)
    return json.dumps(scores)


def unknown_expressions(given: Mapping[str, float]) -> list[str]:
    return sorted(set(given) - set(EXPRESSIONS))
