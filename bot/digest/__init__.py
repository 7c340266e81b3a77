"""Daily digests: channels follow feeds (and their own shared links); once a day,
at the channel's time, one calm post lists what is new, the same story from
several outlets merged into one entry.

    poller (feeds.py, safe fetcher, conditional GET) ──► store items
    scheduler ──► builder (merge by story, rank, one line each) ──► render ──► post once
"""
