"""Follow-up questions: decide from the question alone whether it leans on the last turn, and
if it does, read it with that turn's topic (its names and key words), never its raw words.

A rule, not a model, because the chat shows how it read each message: a reader must be able
to predict it, and it runs on every message. The rule in one breath: a question that names a
topic of its own stands alone, and so does a bare topic ("Brexit"); "what about X?" / "and in
X?" asks the last question again about X; a pronoun without a referent ("who is he?"),
"what happened next?", "why?" or "how many died?" go on with the last topic. A turn's topic
is read from the question *as it was read*, so context travels down a chain only while the
chain stays on one topic: a change of topic leaves nothing of the old one behind.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..reading.words import stemmer, stopwords, words
from ..search.dates import time_phrase

MAX_CARRIED = 12  # words taken from the previous turn; keeps a long chat's questions short
TITLE_NAMES = 2  # names a continuation takes from the top card's title (what it was about)

# Alone, or X on its own: what / how about X, what of X, and X ("and in Paris?"), but not
# "and who won the final?", which is a question of its own.
ABOUT = re.compile(r"^\W*(?:(?:and|but|so)\s+)?(?:(?:what|how)\s+about|what\s+of)\b(.*)$"
                   r"|^\W*and\s+(?!(?:who|whom|whose|what|when|where|why|how|which|is|are|was|"
                   r"were|do|does|did|has|have|had|can|could|will|would|should|then)\b)(.+)$",
                   re.IGNORECASE | re.DOTALL)
# "and in Paris?", "what about for women?": X is a setting for the same story, not a new topic.
SETTING = re.compile(r"\W*(?:in|at|for|on|from|among|across|near|inside|outside|within)\b",
                     re.IGNORECASE)
PERSONS = {"he", "she", "him", "his", "her", "hers", "himself", "herself", "they", "them",
           "their", "theirs", "themselves"}
PLURALS = {"they", "them", "their", "theirs", "themselves"}  # a group may be a common noun
THINGS = {"it", "its", "itself", "this", "these", "those", "that", "there", "then"}
# "It is raining" has no referent to find.
DUMMY_IT = re.compile(r"it\s*(?:is\s+|was\s+|['’]s\s+)?(?:true|possible|likely|raining|snowing)\b",
                      re.IGNORECASE)
CALENDAR = set("""monday tuesday wednesday thursday friday saturday sunday january february
march april june july august september october november december""".split())
# After "this" / "that" these make a time ("this week"), not a reference.
TIME_NOUNS = CALENDAR | set("""day days week weekend month year morning afternoon evening night
time season summer winter spring autumn""".split())
# Particles inside a name: "Michael van Gerwen", "Bank of England".
NAME_GAP = re.compile(r"(?:[\s-]|\b(?:of|de|du|da|la|le|van|von|der|den|bin|al)\b)+")
CONNECTORS = {"de", "du", "da", "la", "le", "van", "von", "der", "den", "bin", "al"}
# Words that name no topic by themselves: what was done (verbs), how much, who in general
# (roles that point back: "the president", "the police"), and the talk around a question.
# "How many people died?" has only these, so it must lean on the last turn.
GENERIC = """happen next say said tell told mean think know react respond reaction response
win won lose lost beat die dead death kill hurt injure arrest charge start began begin end
stop cause reason result outcome cost pay paid spend spent make made take took get got give
gave find found become became leave left hold held keep kept meet met see saw want go went
come came born live lives happen going do done many much number total toll people person
someone anyone anything something everything everyone else latest news update new old age
long far big large small first later afterwards still ever yet really true exactly also even
well like way thing things part kind lot lots detail details story soon back around yes ok
okay please thanks less least again instead damage casualties injuries president minister
government police official officials team company leader winner loser victim victims court
judge player players group family city country place man woman men women authorities""".split()


@dataclass(frozen=True)
class Turn:
    """What a follow-up may refer to: the last question as it was read (with the context it
    carried), the lead sentence (who "he" most likely is) and the top card's title (what the
    answer was about, when the question did not say)."""

    question: str
    lead: str = ""
    title: str = ""

    @classmethod
    def after(cls, answer) -> Turn | None:
        """The turn an `Answer` leaves for the next question; None when there is none. An
        unanswered turn leaves no title: its nearest passage is not what it was about."""
        if answer is None:
            return None
        title = answer.passages[0].title if answer.answered and answer.passages else ""
        return cls(answer.read_as or answer.question,
                   answer.lead.text if answer.lead else "", title)


@dataclass(frozen=True)
class Item:
    """One piece of a text: a name ("Notre Dame"), a key word of its topic ("fire"), or a frame
    word, the shape of the question ("died", "many") that a topic of its own would keep."""

    text: str
    stems: frozenset[str]
    kind: str  # "name", "key" or "frame"
    start: int
    end: int


def follow_up(question: str) -> str:
    """How a question leans on the last turn, read from the question alone: "" (it stands
    alone), "about" (what about X, and X), "in" (and in X, and for X), "person" (he, their... with no name before),
    "thing" (it, this, there...) or "more" (no topic of its own: "why?", "how many died?").

    Example: 'Who won the PDC world darts championship?' -> ''; 'coronavirus' -> '';
             'What happened next?' -> 'more'; 'And in Paris?' -> 'about'
    """
    items = read(question)
    pronoun = _pronoun(question, items)
    if pronoun:
        return pronoun
    about = ABOUT.match(question)
    own = [i for i in items if i.kind != "frame"]
    if about and (items or time_phrase(question)):
        return "in" if SETTING.match(about.group(1) or about.group(2)) else "about"
    return "" if own else "more"


def with_context(question: str, previous: Turn | None) -> str:
    """The question to retrieve with: `question` itself, or, for a follow-up, `question`
    followed by what it needs of the previous turn.

    "about": the previous question's frame and time; X takes the place of its whole topic
    (of its frame only, when X is a frame word: "what about the injured?").
    "in": the same, but X replaces only its own kind: "and in Paris?" after a question on the
    London floods replaces the names and keeps "floods".
    "person" / "thing" naming someone of their own ("did he win the Ballon d'Or?"): only the
    referent, the lead's first name or the previous topic. Otherwise: the previous topic and
    time, the referent and the title's names; a bare "why?" takes the whole previous
    question, frame too.
    Example: ('Who is he?', Turn('Who won the darts world championship?',
              'Luke Humphries beat Luke Littler 7-4.'))
             -> 'Who is he? darts world championship Luke Humphries'
    """
    if previous is None or not question.strip():
        return question  # a blank question stays blank, for the caller to refuse
    kind = follow_up(question)
    if not kind:
        return question
    own, before = read(question), read(previous.question)
    own_time, before_time = time_phrase(question), time_phrase(previous.question)
    topic = [i for i in before if i.kind != "frame"] or _topic(previous.title)
    carried: Sequence[Item | None]  # a person who is not found is None, dropped below
    if kind in ("about", "in"):
        replaced = {i.kind for i in own}
        if kind == "about" and replaced & {"name", "key"}:
            replaced |= {"name", "key"}
        carried = [i for i in before if i.kind not in replaced]
    elif any(i.kind == "name" for i in own):
        carried = [_person(previous, before)] if kind == "person" else topic
    else:
        bare = kind == "more" and not own and not own_time
        asked = before if bare else topic  # a bare "why?" asks the whole question again
        carried = [*asked, _person(previous, before) if kind == "person" else None,
                   *[i for i in _topic(previous.title) if i.kind == "name"][:TITLE_NAMES]]
    phrase = before_time if before_time and not own_time else ""
    return _join(question, [i for i in carried if i is not None], phrase)


def read(text: str, timed: bool = True) -> list[Item]:
    """The names, key words and frame words of `text`, in order, leaving out its time phrase
    (that travels whole) and a capital that only starts the text.

    Example: 'How many people died in the Gaza war this week?' -> many, people, died (frame),
             Gaza (name), war (key)
    """
    phrase = time_phrase(text) if timed else None
    timed_stems = {stem for *_, stem in words(phrase)} if phrase else set()
    items: list[Item] = []
    for start, end, stem in words(text):
        word = text[start:end]
        if stem in timed_stems or word in CONNECTORS:
            continue
        if _is_name(text, start, end):
            last = items[-1] if items else None
            if last and last.kind == "name" and NAME_GAP.fullmatch(text[last.end:start]):
                items[-1] = Item(text[last.start:end], last.stems | {stem}, "name",
                                 last.start, end)
                continue
            kind = "name"
        else:
            kind = "frame" if _is_generic(word, stem) else "key"
        items.append(Item(word, frozenset({stem}), kind, start, end))
    return items


def _is_name(text: str, start: int, end: int) -> bool:
    """A capital marks a name, except where it only starts the text ("Brexit talks?"): there
    the word must be an acronym or be followed by another capital ("Luke Humphries won")."""
    word = text[start:end]
    if not word[:1].isupper() or word.lower() in CALENDAR:
        return False
    if text[:start].strip(" \"'“‘("):
        return True
    return word.isupper() or bool(re.match(r"[\s-]+[A-Z]", text[end:]))


def _is_generic(word: str, stem: str) -> bool:
    """Example: 'died' -> True (a verb in the past names no topic), 'fire' -> False."""
    word = word.lower()
    past = len(word) > 4 and word.endswith("ed") and not word.endswith("eed")
    return past or word.isdigit() or stem in _generic_stems()


@lru_cache(maxsize=1)
def _generic_stems() -> frozenset[str]:
    return frozenset(stemmer().stemWords(GENERIC))


def _pronoun(question: str, items: list[Item]) -> str:
    """"person" or "thing" when the question has a pronoun with nothing in it to refer to;
    "person" wins, as its referent is the one to look up. A "he" after a name refers to it;
    "they" may also refer to a common noun before it ("did the strikers say they...")."""
    tokens = [(m.start(), re.split(r"['’]", m.group().lower())[0])
              for m in re.finditer(r"[A-Za-z]+(?:['’][A-Za-z]+)?", question)]
    found = ""
    for n, (at, word) in enumerate(tokens):
        before = tokens[n - 1][1] if n else ""
        after = tokens[n + 1][1] if n + 1 < len(tokens) else ""
        if word in PERSONS:
            kinds = {"name", "key"} if word in PLURALS else {"name"}
            if not any(i.kind in kinds and i.end <= at for i in items):
                return "person"
        elif word in ("it", "its", "itself"):
            found = found or ("" if DUMMY_IT.match(question, at) else "thing")
        elif word in ("this", "these", "those"):
            found = found or ("" if after in TIME_NOUNS else "thing")
        elif word == "that":
            # "did that happen", "after that": a reference; "said that the", "the team that
            # won": a conjunction or relative, which follows a word of content.
            pointing = not after or not before or before in _stops() - {"so", "such"}
            found = found or ("thing" if pointing and after not in TIME_NOUNS else "")
        elif word in ("there", "then") and not after:
            found = found or "thing"
    return found


@lru_cache(maxsize=1)
def _stops() -> frozenset[str]:
    return frozenset(stopwords())


def _topic(text: str) -> list[Item]:
    """The names and key words of a title; a Title Cased one gives key words only, its
    capitals being style, not names."""
    found = words(text)
    if len(found) > 2 and all(text[start].isupper() for start, _, _ in found):
        return [Item(text[a:b], frozenset({s}), "key", a, b) for a, b, s in found
                if not _is_generic(text[a:b], s)]
    return [i for i in read(text, timed=False) if i.kind != "frame"]


def _person(previous: Turn, before: list[Item]) -> Item | None:
    """Who "he" or "they" most likely is: the first name of the lead, the sentence that
    answered (else of the title, else of the previous question)."""
    found = [*read(previous.lead, timed=False), *_topic(previous.title), *before]
    return next((i for i in found if i.kind == "name"), None)


def _join(question: str, carried: list[Item], phrase: str) -> str:
    """`question` and the carried items' words after it, none the question (or an earlier
    item) already has by stem, at most MAX_CARRIED words, then the time phrase whole."""
    seen = {stem for *_, stem in words(question)}
    seen |= {stem for *_, stem in words(phrase)} if phrase else set()
    extra = []
    for item in carried:
        if not item.stems <= seen:
            seen |= item.stems
            extra.extend(item.text.split())
    tail = extra[:MAX_CARRIED] + ([phrase] if phrase else [])
    return " ".join([question.strip(), *tail]) if tail else question
