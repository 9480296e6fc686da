"""A paper's code repository: from Hugging Face's `githubRepo`, or from a "code is available
at https://github.com/…" sentence in its abstract."""

from __future__ import annotations

import re

# Repository hosts we link to; an owner/repo path on one of them is a code link.
_REPO = re.compile(
    r"https?://(?:www\.)?(github\.com|gitlab\.com|codeberg\.org)/"
    r"([A-Za-z0-9][A-Za-z0-9_.-]*)/([A-Za-z0-9_.-]+)",
    re.IGNORECASE,
)
# Paths on those hosts that are not a repository.
_NOT_OWNERS = {"about", "features", "topics", "orgs", "sponsors", "marketplace", "settings"}


def normalize_repo_url(url: str | None) -> str | None:
    """`https://host/owner/repo` for a repository URL (".git", trailing dots and deeper paths
    dropped), or None when the URL is not one."""
    if not isinstance(url, str):
        return None
    match = _REPO.search(url.strip())
    if not match:
        return None
    host, owner, repo = match.group(1).lower(), match.group(2), match.group(3)
    repo = repo.rstrip(".")  # a URL at the end of a sentence
    if repo.lower().endswith(".git"):
        repo = repo[:-4]
    if not repo or owner.lower() in _NOT_OWNERS:
        return None
    return f"https://{host}/{owner}/{repo}"


def code_url_from_abstract(abstract: str | None) -> str | None:
    """The first repository linked in an abstract ("code is available at https://…")."""
    if not abstract or "://" not in abstract:
        return None
    for match in _REPO.finditer(abstract):
        url = normalize_repo_url(match.group(0))
        if url:
            return url
    return None
