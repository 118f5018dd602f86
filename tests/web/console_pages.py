"""Reading console pages in tests: their text, and an error shown by its field."""

from __future__ import annotations

import html
import re

from werkzeug.test import TestResponse


def text_of(response: TestResponse) -> str:
    """The page's text, tags removed, white space made single."""
    return text_of_page(response.get_data(as_text=True))


def text_of_page(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def refused_by_field(response: TestResponse, status: int, field: str, message: str) -> str:
    """Check that the answer is `status` with `message` shown by its field (tied to it with
    aria-describedby) and linked from the error summary; the page."""
    assert response.status_code == status
    page = response.get_data(as_text=True)
    error = re.search(rf'<span class="field-error" id="{field}-error">([^<]+)</span>', page)
    assert error and message in html.unescape(error[1])
    assert f'<a href="#{field}">' in page
    assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error', page)
    return page
