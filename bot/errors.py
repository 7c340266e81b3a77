"""The errors linkbrief raises on purpose, and the message each one shows.

Every message is written for the person in the channel (or at the terminal):
it says what went wrong and, where there is one, what to do. Front ends catch
``LinkbriefError`` once, at the edge, and post ``str(error)``; anything else is
a bug and is logged, never shown raw.

    LinkbriefError
    ├── ConfigError            a setting is missing or contradicts another
    ├── InputError             the target itself is unusable
    │   ├── InvalidURL         not an http(s) URL we can parse
    │   ├── UnsupportedFile    a local file of a kind we cannot read
    │   └── UsageError         a command line missing what it needs (exit status 2)
    ├── FetchError             getting the page failed
    │   ├── BlockedAddress     SSRF guard: private, loopback, odd port, userinfo…
    │   ├── FetchTimeout       the whole fetch ran past its deadline
    │   ├── TooLarge           more decoded bytes than the cap
    │   ├── TooManyRedirects
    │   ├── HTTPStatus         the server answered 4xx/5xx (``.status``)
    │   ├── NotAnArticle       JSON, image, video… (``.content_type``)
    │   └── ConnectFailed      DNS failure, refused, reset
    ├── ExtractionError        the page came back, but no article is in it
    │   ├── EmptyPage          nearly nothing to read
    │   ├── ConsentWall        a cookie/consent wall instead of the article
    │   ├── Paywall            only a teaser before a subscription prompt
    │   └── ExtractionTimeout  reading the page ran past its deadline (a hostile page)
    ├── LLMError               the model could not give a usable answer
    │   ├── LLMUnavailable     timeout, 429, 5xx, connection refused
    │   └── LLMBadOutput       still invalid after the repair round
    └── LimitReached           a rate limit or the daily model budget
        ├── UserRateLimited    one person asked for too many briefs this hour
        ├── ChannelRateLimited one channel asked for too many briefs this hour
        └── BudgetExhausted    the workspace spent today's model tokens
"""

from __future__ import annotations

import re

_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class LinkbriefError(Exception):
    """Base class: ``str(error)`` is shown to the user as it is."""

    default_message = "Something went wrong while reading that link."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self)

    @property
    def kind(self) -> str:
        """A short stable name for metrics and logs (``blocked_address``...)."""
        # Acronyms stay whole: HTTPStatus -> http_status, LLMUnavailable -> llm_unavailable.
        return _WORD_BREAK.sub("_", type(self).__name__).lower()


class ConfigError(LinkbriefError):
    default_message = "linkbrief is not configured correctly."


class InputError(LinkbriefError):
    default_message = "That doesn't look like a link I can read."


class InvalidURL(InputError):
    default_message = "That isn't an http(s) link I can read. Paste a full https:// URL."


class UnsupportedFile(InputError):
    default_message = "I can only read .html, .htm, .pdf and .txt files."


class UsageError(InputError):
    default_message = "That command needs more: see linkbrief --help."


class FetchError(LinkbriefError):
    default_message = "I couldn't fetch that page."


class BlockedAddress(FetchError):
    default_message = (
        "I can't open that link: it points to a private or local address. "
        "Share a public URL instead."
    )


class FetchTimeout(FetchError):
    default_message = "That page took too long to load, so I gave up. Try again later."


class TooLarge(FetchError):
    default_message = "That page is too large for me to read."


class TooManyRedirects(FetchError):
    default_message = "That link redirects too many times; share the final URL instead."


class HTTPStatus(FetchError):
    def __init__(self, status: int, message: str | None = None) -> None:
        self.status = status
        if message is None:
            if status == 404:
                message = "That page was not found (404). Check the link."
            elif status in (401, 403):
                message = f"The site refused to show me that page ({status})."
            elif status == 429:
                message = "The site is rate-limiting me (429). Try again in a while."
            elif status >= 500:
                message = f"The site had an error ({status}). Try again later."
            else:
                message = f"The site answered {status}, so I couldn't read the page."
        super().__init__(message)


class NotAnArticle(FetchError):
    def __init__(self, content_type: str = "", message: str | None = None) -> None:
        self.content_type = content_type
        if message is None:
            # The type came from the server: bounded, so the message stays a message.
            what = content_type[:80] or "this kind of content"
            message = (
                f"That link isn't an article ({what}). I can read web pages, PDFs and plain text."
            )
        super().__init__(message)


class ConnectFailed(FetchError):
    default_message = "I couldn't reach that site. Check the link, or try again later."


class ExtractionError(LinkbriefError):
    default_message = "I couldn't find an article on that page."


class EmptyPage(ExtractionError):
    default_message = "That page has almost no text I can summarize."


class ConsentWall(ExtractionError):
    default_message = (
        "That page only showed me a cookie/consent wall, not the article. "
        "Paste the article text or another source."
    )


class Paywall(ExtractionError):
    default_message = (
        "That article is behind a paywall: I only got the teaser, so I won't pretend to "
        "summarize it."
    )


class ExtractionTimeout(ExtractionError):
    default_message = (
        "That page took too long to read, so I stopped. It may be built to be slow to "
        "parse; try another source."
    )


class LLMError(LinkbriefError):
    default_message = "The language model could not produce a brief."


class LLMUnavailable(LLMError):
    default_message = "The language model is unavailable right now."


class LLMBadOutput(LLMError):
    default_message = "The language model's answer was not usable."


class LimitReached(LinkbriefError):
    default_message = "I've hit my limit for now. Try again later."


def _minutes(seconds: float) -> str:
    minutes = max(1, -(-int(seconds) // 60))  # round up: "try again in 0 minutes" is a lie
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


class UserRateLimited(LimitReached):
    """Raised by ``bot.limits.Limits.check_brief``; ``retry_after_s`` is when one more fits."""

    def __init__(self, limit: int, retry_after_s: float) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        super().__init__(
            f"You've asked for {limit} briefs in the last hour, my limit per person; "
            f"try again in {_minutes(retry_after_s)}."
        )


class ChannelRateLimited(LimitReached):
    def __init__(self, limit: int, retry_after_s: float) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        super().__init__(
            f"This channel has had {limit} briefs in the last hour, my limit per channel; "
            f"try again in {_minutes(retry_after_s)}."
        )


class BudgetExhausted(LimitReached):
    """Today's model tokens are spent. Briefs degrade to extractive rather than raise this;
    it is here for callers that must refuse (the message says when the budget resets)."""

    default_message = (
        "This workspace has used today's model budget; briefs are extractive (no AI) "
        "until midnight UTC."
    )
