"""Talking to a brief: follow-up questions answered from the article, and the brief's controls.

* ``answer``: what an answer is (sentences backed by verified quotes, or "the
  article doesn't say"), and the offline answerer (BM25 over the article's sentences);
* ``model``: the LLM answerer, whose every quote goes through ``verify_draft``;
* ``service``: a question in a thread → the brief's article (cached, fetched again
  once when expired) → an answer, with rate limits, the token budget and history;
* ``controls``: Regenerate (once per click, whatever the double clicks), Delete, votes;
* ``stats``: ``/linkbrief stats`` for a workspace, today and the last 7 days;
* ``render``: answers, controls and stats for Slack, Discord and the console.

Nothing here imports slack_bolt or discord: front ends translate to and from it.
"""
