"""Bounded limit/offset pagination shared by every list route."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_OFFSET = 1_000_000


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page_params(default_limit: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT) -> Callable[..., Page]:
    """A limit/offset dependency with its own default; a limit above the maximum is a 400."""

    def _page(
        limit: Annotated[int, Query(ge=1, le=max_limit, description=f"At most {max_limit}.")] = default_limit,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page:
        return Page(limit, offset)

    return _page


PageDep = Annotated[Page, Depends(page_params())]
