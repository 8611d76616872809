"""Query parameters of list routes, bounded so that no offset or year can overflow."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

# 100,000 pages of 500 reach 50 million rows: beyond any office's year, far below BIGINT.
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 500

Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1 for the first page")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="rows per page")]
# A fiscal year as the contract bounds it (docs/contract.md §10).
FiscalYear = Annotated[int | None, Query(ge=1000, le=9999, description="e.g. 2026")]
