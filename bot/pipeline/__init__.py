"""The pipeline: urls → fetch → extract → summarize → verify, yielding a ``Brief``.

Nothing in here knows about Slack, Discord or the openai package.
"""
