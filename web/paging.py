"""Cursor pagination for every API list: `?limit=&cursor=`, and a `Link: <...>; rel="next"`
header while there is a next page.

The body of a list stays a JSON array (clients written against it keep working);
the next page's URL is the same request with an opaque `cursor`.  A cursor is the
position after the last row served, encoded so clients do not build it
themselves: ask for `limit + 1` rows, serve `limit`, and the extra one says
whether there is a next page.  A cursor that does not decode is a 422 naming
`cursor`, never a silent first page.

No `from __future__ import annotations` here: `paging` builds its dependency's
annotations from its arguments, which FastAPI must see as objects, not strings.
"""

import base64
import binascii
import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response
from pydantic import BeforeValidator

from web.errors import ApiError

T = TypeVar("T")
MAX_POSITION = 10_000_000
CURSOR = "from the `Link` header's next URL; absent for the first page"


@dataclass(frozen=True)
class Page:
    """Where a page starts and how long it is (a FastAPI dependency: `PageDep`)."""

    offset: int
    limit: int

    @property
    def fetch(self) -> int:
        """How many rows to ask the service for (one more than served)."""
        return self.limit + 1

    def serve(self, rows: list[T], request: Request, response: Response) -> list[T]:
        """The rows of this page; sets the `Link` header when more follow."""
        if len(rows) > self.limit:
            cursor = encode(self.offset + self.limit)
            url = request.url.remove_query_params("offset").include_query_params(cursor=cursor)
            response.headers["Link"] = f'<{url}>; rel="next"'
        return rows[: self.limit]

    def cut(self, rows: list[T]) -> tuple[list[T], bool]:
        """The rows of this page, and whether more follow (for an HTML list's Next link)."""
        return rows[: self.limit], len(rows) > self.limit


Day = Annotated[date | None, BeforeValidator(lambda value: value or None), Query()]
"""A list's date filter: a form's empty date field means no filter, not a 422."""


@dataclass(frozen=True)
class Listing:
    """An HTML list's search, filters and page number, as its address carries them.

    Pages number from 1 (a person reads "Page 3"); each list subclasses this with its
    own filters, and `at` turns the number into the same `Page` the API's cursors use.
    """

    page: int = 1

    def query(self, **changes) -> str:
        """The address's query string with `changes` (defaults left out, so it stays short)."""
        values = {**asdict(self), **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})

    def at(self, size: int) -> Page:
        return Page((self.page - 1) * size, size)


def encode(position: int) -> str:
    raw = json.dumps({"after": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position = data["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        position = None
    if not isinstance(position, int) or isinstance(position, bool) or not (
        0 <= position <= MAX_POSITION
    ):
        raise ApiError(422, "the cursor is not one this API gave out; start from the first "
                       "page", field="cursor")  # fmt: skip
    return position


def paging(default: int, maximum: int):
    """A dependency reading `limit` (1..maximum) and `cursor` into a `Page`."""

    def page(
        limit: Annotated[int, Query(ge=1, le=maximum, description="rows per page")] = default,
        cursor: Annotated[str | None, Query(max_length=200, description=CURSOR)] = None,
    ) -> Page:
        return Page(decode(cursor) if cursor else 0, limit)

    return Depends(page)


PageDep = Annotated[Page, paging(50, 1000)]
