"""Shared pieces of the adversarial suite: the SSRF forms, and helpers to read outcomes.

Every SSRF form is a template: ``{port}`` is the canary server's port (127.0.0.1,
never allow-listed), ``{case}`` makes each case's URL unique (so canonical forms
never collide and a hit names its case) and ``{articles}`` is the allow-listed
article server's base URL (127.0.0.2), for redirects that start public-looking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.servers.slack_api import ApiCall

PRIVATE = "private or local address"
USERINFO = "user name or password"
ODD_PORT = "standard web ports"


@dataclass(frozen=True, slots=True)
class SsrfForm:
    name: str
    template: str
    expected: str  # a fragment of the friendly refusal

    def url(self, *, port: int, articles: str) -> str:
        return self.template.format(port=port, case=self.name, articles=articles)


# Every SSRF form from the core issue (tests/test_netguard.py checks the policy alone;
# here each goes through a real front end). A name resolving to loopback is
# ``localhost`` from the system resolver: the stacks use no fake resolver.
SSRF_FORMS: list[SsrfForm] = [
    SsrfForm("loopback", "http://127.0.0.1:{port}/canary/{case}", PRIVATE),
    SsrfForm("decimal", "http://2130706433:{port}/canary/{case}", PRIVATE),
    SsrfForm("hex", "http://0x7f000001:{port}/canary/{case}", PRIVATE),
    SsrfForm("octal", "http://0177.0.0.1:{port}/canary/{case}", PRIVATE),
    SsrfForm("short", "http://127.1:{port}/canary/{case}", PRIVATE),
    SsrfForm("ipv6-loopback", "http://[::1]:{port}/canary/{case}", PRIVATE),
    SsrfForm("ipv4-mapped-ipv6", "http://[::ffff:127.0.0.1]:{port}/canary/{case}", PRIVATE),
    SsrfForm("6to4", "http://[2002:7f00:1::1]:{port}/canary/{case}", PRIVATE),
    SsrfForm("nat64", "http://[64:ff9b::7f00:1]:{port}/canary/{case}", PRIVATE),
    SsrfForm("aws-metadata", "http://169.254.169.254/latest/meta-data/{case}", PRIVATE),
    SsrfForm("alibaba-metadata", "http://100.100.100.200/latest/meta-data/{case}", PRIVATE),
    SsrfForm("zero-address", "http://0.0.0.0:{port}/canary/{case}", PRIVATE),
    SsrfForm("ipv6-unspecified", "http://[::]:{port}/canary/{case}", PRIVATE),
    SsrfForm("benchmarking-198-18", "http://198.18.0.1/{case}", PRIVATE),
    SsrfForm("unique-local-fc00", "http://[fd00::1]/{case}", PRIVATE),
    SsrfForm("userinfo", "http://example.com@127.0.0.1:{port}/canary/{case}", USERINFO),
    SsrfForm("odd-port", "http://93.184.216.34:8080/{case}", ODD_PORT),
    SsrfForm("name-resolving-to-loopback", "http://localhost:{port}/canary/{case}", PRIVATE),
    SsrfForm(
        "redirect-into-private",
        "{articles}/redirect-to?url=http://127.0.0.1:{port}/canary/{case}",
        PRIVATE,
    ),
]
SSRF_IDS = [form.name for form in SSRF_FORMS]


def slack_payload(call: ApiCall) -> dict[str, Any]:
    """What a person sees of a chat.postMessage/chat.update: its text and blocks."""
    blocks = call.params.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return {"text": call.params.get("text", ""), "blocks": blocks}


def slack_text(call: ApiCall) -> str:
    return json.dumps(slack_payload(call), ensure_ascii=False)
