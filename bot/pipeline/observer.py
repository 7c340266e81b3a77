"""The observer the pipeline reports to when none is configured (the CLI, most tests)."""

from __future__ import annotations


class NoObserver:
    def stage(self, url: str, stage: str) -> None:
        pass

    def fetched(self, *, body_bytes: int, seconds: float) -> None:
        pass

    def model_called(
        self, *, prompt_tokens: int, completion_tokens: int, seconds: float, failed: str = ""
    ) -> None:
        pass

    def brief_served(self, *, mode: str, platform: str, seconds: float, cached: bool) -> None:
        pass

    def failed(self, *, kind: str) -> None:
        pass
