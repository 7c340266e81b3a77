"""The verifier's speaker rule: a claim's speaker must be the one the text gives its words.

``ArticleSpeakers(article, blocks)`` runs the attribution model
(``bot.pipeline.speakers``) once over the article's paragraphs. Then
``check(claimed, block_index, parts) -> str`` answers for one claim whose quote was
found in that paragraph (``parts``: the normalised pieces of its quote) with "" when
the speaker holds, or the reason it does not, in words:

* the quote lies in a quoted span the text attributes (or in a sentence of reported
  speech, "X said that …"): the claimed speaker must be that speaker, by any of the
  ways of writing them (``names.same_speaker``), else ``said by X, not Y``;
  "the author" is refused the same way;
* words attributed to no one: "the author" (or the article's own author or site) is
  accepted outside ``> `` blocks; a named speaker must be named in the paragraph or
  in the line introducing its quoted block, as before.
"""

from __future__ import annotations

from bot.pipeline.attribution import Block, is_named_in
from bot.pipeline.models import Article
from bot.pipeline.names import named_in, same_speaker
from bot.pipeline.normalize import normalize_for_match
from bot.pipeline.quotes import Speaker, sentence_speaker
from bot.pipeline.sentences import split_sentences
from bot.pipeline.speakers import attribute_paragraphs, display_name

AUTHOR_ALIASES = frozenset(
    {"the author", "author", "the writer", "the blogger", "the columnist", "the editor"}
)
REASON_SPEAKER = "speaker not named there"
_EDGE = " \"'.,;:!?-…()"


class ArticleSpeakers:
    """Who the article says spoke, paragraph by paragraph, computed once."""

    def __init__(self, article: Article, blocks: list[Block]) -> None:
        self.article = article
        self.blocks = blocks
        self._quotes = attribute_paragraphs([b.text for b in blocks])
        self._normalised = [
            [(normalize_for_match(q.text).strip(_EDGE), q.speaker) for q in quotes]
            for quotes in self._quotes
        ]
        self._split: dict[int, list[tuple[str, str]]] = {}
        self._own = {normalize_for_match(n) for n in (article.author, article.site) if n.strip()}

    def speakers_of(self, index: int, parts: list[str]) -> list[Speaker]:
        """The speakers the text gives the words ``parts`` in paragraph ``index``."""
        joined = " ".join(parts)
        found: list[Speaker] = []
        in_quote = False
        for text, speaker in self._normalised[index]:
            if not text:
                continue
            if any(p in text for p in parts) or (len(text.split()) >= 3 and text in joined):
                in_quote = True
                if speaker is not None and speaker not in found:
                    found.append(speaker)
        if found or in_quote:
            return found
        for raw, norm in self._sentences(index):
            if any(p in norm or norm.strip(_EDGE) in p for p in parts):
                speaker = sentence_speaker(raw)
                if speaker is not None and speaker not in found:
                    found.append(speaker)
        return found

    def _sentences(self, index: int) -> list[tuple[str, str]]:
        """The paragraph's sentences, raw and normalised (computed once)."""
        if index not in self._split:
            text = self.blocks[index].text
            self._split[index] = [
                (s.text, normalize_for_match(s.text))
                for s in split_sentences(text, self.article.language)
            ]
        return self._split[index]

    def check(self, claimed: str, index: int, parts: list[str]) -> str:
        """ "" when ``claimed`` may be credited with ``parts``, else the reason why not."""
        block = self.blocks[index]
        folded = normalize_for_match(claimed)
        is_author = folded in AUTHOR_ALIASES or folded in self._own
        speakers = [s for s in self.speakers_of(index, parts) if s.names()]
        if speakers:
            if not is_author and any(
                same_speaker(claimed, name) for s in speakers for name in s.names()
            ):
                return ""
            introducer = block.introducer if block.quoted and not is_author else None
            if introducer and same_speaker(claimed, introducer):
                return ""  # the quoted report itself: "ISW" for its own passage
            return f"said by {display_name(speakers[0])}, not {claimed.strip()}"
        if is_author:
            return "" if not block.quoted else REASON_SPEAKER
        if is_named_in(claimed, block.text) or named_in(claimed, block.text):
            return ""
        if block.quoted and block.introducer and is_named_in(claimed, block.introducer):
            return ""
        return REASON_SPEAKER
