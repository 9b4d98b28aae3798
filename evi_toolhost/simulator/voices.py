"""The voices a config can name: a few of Hume's Voice Library (`HUME_AI`) and the account's own (`CUSTOM_VOICE`,
none until a test adds one). A voice is named by id or by name, within one provider; Hume's default provider is
`CUSTOM_VOICE`, so a library voice needs `provider: HUME_AI`.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

from service.evi.config_rules import VoiceProvider

LIBRARY_NAMES = ("Ava Song", "Kora", "Dacher", "Ito", "Stella", "Finn")
_IDS = uuid.UUID("6f1c4a52-4b0e-4d3c-9a55-5e7f0b8d2c11")


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    provider: VoiceProvider

    def to_json(self) -> dict[str, Any]:
        """`ReturnVoice`."""
        return {"id": self.id, "name": self.name, "provider": self.provider.value, "compatible_octave_models": ["2"]}


class VoiceLibrary:
    def __init__(self) -> None:
        self._voices = [Voice(str(uuid.uuid5(_IDS, name)), name, VoiceProvider.HUME_AI) for name in LIBRARY_NAMES]
        self._lock = threading.Lock()

    def add_custom(self, name: str) -> Voice:
        voice = Voice(str(uuid.uuid4()), name, VoiceProvider.CUSTOM_VOICE)
        with self._lock:
            self._voices.append(voice)
        return voice

    def find(self, provider: VoiceProvider, *, voice_id: str | None = None, name: str | None = None) -> Voice | None:
        with self._lock:
            for voice in self._voices:
                same = voice.id == voice_id if voice_id is not None else voice.name == name
                if same and voice.provider is provider:
                    return voice
        return None

    def by_id(self, voice_id: str) -> Voice | None:
        with self._lock:
            return next((voice for voice in self._voices if voice.id == voice_id), None)

    def why_not_found(self, provider: VoiceProvider, *, voice_id: str | None, name: str | None) -> str:
        wanted = f"id {voice_id!r}" if voice_id is not None else f"name {name!r}"
        message = f"no {provider.value} voice with {wanted}"
        others = [p for p in VoiceProvider if p is not provider and self.find(p, voice_id=voice_id, name=name)]
        if others:
            message += f"; there is one with provider {others[0].value}"
        elif provider is VoiceProvider.HUME_AI:
            message += f" (the library has: {', '.join(LIBRARY_NAMES)})"
        return message
