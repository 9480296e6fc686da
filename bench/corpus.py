"""A deterministic, seeded corpus built from the seed dumps' vocabulary, with known truth.

Each generated paper has a `truth` id; copies of a paper (another source, an arXiv version
bump, a retyped title) share it, so dedup precision and recall can be measured exactly.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from xml.sax.saxutils import escape

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{2,}")


@dataclass(frozen=True)
class Paper:
    """One synthetic listing."""

    truth: int
    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    published: date
    upvotes: int


def vocabulary() -> tuple[list[str], list[int]]:
    """Words of the seed dumps and their counts (a Zipf-like weighting for sampling)."""
    counts: Counter[str] = Counter()
    for path in sorted(SEEDS.glob("*.txt")):
        counts.update(_WORD.findall(path.read_text(encoding="utf-8")))
    words = sorted(counts)
    return words, [counts[w] for w in words]


# Given names and surname syllables for the synthetic authors: letters only, so the store
# parses and indexes them as it does real names (an "Author 1905" has no name to index).
_GIVEN = (
    "Wei Yu Jing Xin Hao Lei Min Yang Jun Tao Ming Hui Li Chen Anna Maria Elena Sofia Laura"
    " Sarah Emma Julia Hannah Lena Aisha Fatima Priya Ananya Divya Neha Kavya Meera Yuki Akira"
    " Haruto Sakura Ren Kenji Hiroshi Minji Jiwoo Seojun Hyun David Michael James John Robert"
    " Daniel Thomas Andrew Mark Paul Peter Alexander Sebastian Lukas Jonas Felix Matteo Luca"
    " Marco Pablo Diego Carlos Javier Omar Ali Hassan Ahmed Yusuf Ivan Dmitri Sergei Olga"
    " Natalia Pierre Louis Camille Chloé Zoé José Jürgen Jörg Søren Łukasz Tomás"
)
_SYLLABLES = (
    "wa ng li zh an ch en liu ya hu ku ma ra ta sa na ka mo ri to shi be rg er son man ner"
    " ko va lo pe do si mi ga ni ze ber hoff mann stein ov ski ez es ar el"
)


def _author_names(count: int, seed: int = 13) -> list[str]:
    """`count` synthetic people: few surnames shared by many (as Wang or Li are), a long
    tail, a few written with accents or umlauts."""
    rng = random.Random(seed)
    given_names, syllables = _GIVEN.split(), _SYLLABLES.split()
    surnames = [
        "".join(rng.choices(syllables, k=rng.randint(1, 3))).capitalize() for _ in range(8_000)
    ]
    weights = list(accumulate(1 / (i + 3) for i in range(len(surnames))))  # the commonest ~4%
    names = []
    for _ in range(count):
        given = rng.choice(given_names)
        middle = f" {rng.choice('ABCDEFGHJKLMNPRSTW')}." if rng.random() < 0.2 else ""
        names.append(f"{given}{middle} {rng.choices(surnames, cum_weights=weights)[0]}")
    return names


AUTHORS = 50_000
_AUTHOR_NAMES: list[str] = []


def author_name(number: int) -> str:
    """The synthetic person with this number (1 to AUTHORS)."""
    if not _AUTHOR_NAMES:
        _AUTHOR_NAMES.extend(_author_names(AUTHORS + 1))
    return _AUTHOR_NAMES[number]


def _arxiv_id(i: int) -> str:
    # 90,000 ids a month, months of 2026 onwards: unique and arXiv-shaped.
    year, month = 26 + i // 1_080_000, (i // 90_000) % 12 + 1
    return f"{year:02d}{month:02d}.{i % 90_000 + 10_000:05d}"


def generate(n: int, seed: int = 7, start: date = date(2026, 1, 1)) -> list[Paper]:
    """n distinct papers: titles of 5-12 words, ~120-word abstracts, upvotes, dates."""
    rng = random.Random(seed)
    words, weights = vocabulary()
    # The same draws as choices(words, weights), without summing the weights on every call.
    cumulative = list(accumulate(weights))
    papers = []
    for i in range(n):
        title_words = rng.choices(words, cum_weights=cumulative, k=rng.randint(5, 12))
        title_words[0] = title_words[0].capitalize()
        # A unique model name keeps generated titles distinct, as real ones are.
        name = "".join(rng.choice("ABCDEFGHKLMNPRSTVWXZ") for _ in range(3)) + str(i)
        title = f"{name}: " + " ".join(title_words)
        abstract = (
            " ".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(90, 150))) + "."
        )
        # The same draws as when authors were "Author 1905": the rest of the corpus is unchanged.
        authors = tuple(author_name(rng.randint(1, AUTHORS)) for _ in range(rng.randint(1, 8)))
        papers.append(
            Paper(
                truth=i,
                arxiv_id=_arxiv_id(i),
                title=title,
                abstract=abstract[0].upper() + abstract[1:],
                authors=authors,
                published=start + timedelta(days=i % 300),
                upvotes=int(rng.paretovariate(1.2)) - 1,
            )
        )
    return papers


def variant(paper: Paper, rng: random.Random) -> Paper:
    """A copy as another source lists it: retyped title, version bump, more upvotes."""
    kind = rng.choice(["case", "punct", "typo", "same"])
    title = paper.title
    if kind == "case":
        title = title.lower()
    elif kind == "punct":
        title = title.replace(":", " -", 1) + "."
    elif kind == "typo":
        pos = rng.randrange(len(title) // 2, len(title))
        title = title[:pos] + title[pos + 1 :]
    return replace(paper, title=title, upvotes=paper.upvotes + rng.randint(0, 20))


def with_duplicates(papers: list[Paper], share: float = 0.1, seed: int = 11) -> list[Paper]:
    """The papers plus variant copies of about `share` of them."""
    rng = random.Random(seed)
    extra = [variant(p, rng) for p in papers if rng.random() < share]
    return papers + extra


def write_dump(papers: list[Paper], path: Path, page: date = date(2026, 3, 16)) -> None:
    """Write a Daily Papers text dump."""
    lines = ["new", "", "Daily Papers", "", page.strftime("%b %-d"), ""]
    for p in papers:
        lines += [
            p.title,
            "",
            p.abstract,
            "",
            f"  • {len(p.authors)} authors",
            "·",
            p.published.strftime("%b %-d, %Y") + (f" {p.upvotes}" if p.upvotes else ""),
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_rss(papers: list[Paper], path: Path, version: int = 1) -> None:
    """Write an arXiv-style RSS feed."""
    items = "".join(
        f"<item><title>{escape(p.title)}</title><link>https://arxiv.org/abs/{p.arxiv_id}</link>"
        f"<description>arXiv:{p.arxiv_id}v{version} Announce Type: new \n"
        f"Abstract: {escape(p.abstract)}"
        f'</description><guid isPermaLink="false">oai:arXiv.org:{p.arxiv_id}v{version}</guid>'
        f"<dc:creator>{escape(', '.join(p.authors))}</dc:creator>"
        f"<pubDate>{p.published.strftime('%a, %d %b %Y')} 00:00:00 -0400</pubDate></item>"
        for p in papers
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>cs updates on arXiv.org'
        f"</title>{items}</channel></rss>",
        encoding="utf-8",
    )


def write_hf_json(papers: list[Paper], path: Path) -> None:
    """Write Hugging Face daily papers JSON."""
    path.write_text(
        json.dumps(
            [
                {
                    "paper": {
                        "id": p.arxiv_id,
                        "title": p.title,
                        "summary": p.abstract,
                        "upvotes": p.upvotes,
                        "publishedAt": f"{p.published.isoformat()}T00:00:00.000Z",
                        "authors": [{"name": a} for a in p.authors],
                    },
                    "publishedAt": f"{p.published.isoformat()}T06:00:00.000Z",
                    "numComments": 0,
                }
                for p in papers
            ]
        ),
        encoding="utf-8",
    )


# Famous papers planted first in the bench corpus (lowest ids, realistic upvotes and dates),
# and what later abstracts say about them: the relevance row ranks each for its queries.
FAMOUS = [
    (
        "LoRA: Low-Rank Adaptation of Large Language Models",
        "An important paradigm of natural language processing consists of large-scale"
        " pre-training on general domain data and adaptation to particular tasks. We propose"
        " Low-Rank Adaptation, or LoRA, which freezes the pre-trained model weights and injects"
        " trainable rank decomposition matrices into each layer of the Transformer architecture.",
        date(2021, 6, 17),
        1150,
        ("lora", "low rank adaptation"),
        "we fine-tune with LoRA, a low-rank adaptation of the weights",
    ),
    (
        "Attention Is All You Need",
        "The dominant sequence transduction models are based on complex recurrent or"
        " convolutional neural networks. We propose a new simple network architecture, the"
        " Transformer, based solely on attention mechanisms, dispensing with recurrence and"
        " convolutions entirely.",
        date(2017, 6, 12),
        2400,
        ("attention is all you need",),
        "attention is all you need, as they say, so we add attention to every layer",
    ),
    (
        "Denoising Diffusion Probabilistic Models",
        "We present high quality image synthesis results using diffusion probabilistic models,"
        " a class of latent variable models inspired by considerations from nonequilibrium"
        " thermodynamics.",
        date(2020, 6, 19),
        980,
        ("diffusion probabilistic",),
        "our sampler builds on denoising diffusion probabilistic models",
    ),
]
MENTION_SHARE = 0.01


def with_famous(papers: list[Paper], seed: int = 13) -> list[Paper]:
    """The first papers replaced by the famous ones; ~1% of the others mention one of them."""
    rng = random.Random(seed)
    out = list(papers)
    for i, (title, abstract, day, upvotes, _, _) in enumerate(FAMOUS[: len(out)]):
        out[i] = replace(out[i], title=title, abstract=abstract, published=day, upvotes=upvotes)
    for i in range(len(FAMOUS), len(out)):
        if rng.random() < MENTION_SHARE:
            mention = rng.choice(FAMOUS)[5]
            out[i] = replace(out[i], abstract=out[i].abstract[:-1] + f"; {mention}.")
    return out
