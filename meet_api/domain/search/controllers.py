"""/api/v1/search: full-text search of archived transcripts (admin and auditor keys)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from meet_api.domain.auth.guards import AUDIT_READERS
from meet_api.domain.search.schemas import SearchPage
from meet_api.domain.search.services import run_search
from meet_api.lib.problems import AUTHENTICATED_ERRORS, problem_responses
from meet_api.lib.state import AppState
from meet_api.lib.threads import run

SEARCH_DOC = """
Words must all occur in a transcript (or smart note); "quoted phrases" must occur as written.
Matching is case-insensitive, language-neutral (PostgreSQL `simple` configuration / SQLite
FTS5 `unicode61`): no stemming, accents kept. `participant` matches an invitee or anyone who
attended. Each item: the meeting, its documents (`kind` `transcript`, `transcript_text` or
`smart_note`) with the matching lines (line number, speaker, time, text; speaker and time are
null for `transcript_text` and `smart_note`) and the S3 URI and version of the archived
object; `recordings_url` lists them all (with presigned links). Roles: admin, auditor.
""".replace("\n", " ").strip()

Text = Annotated[str | None, QueryParameter(max_length=500)]


class SearchController(Controller):
    path = "/api/v1/search"
    tags = ["search"]

    @get(
        "/",
        guards=[AUDIT_READERS],
        summary="Search archived transcripts",
        description=SEARCH_DOC,
        responses=problem_responses(*AUTHENTICATED_ERRORS),
    )
    async def search(
        self,
        app_state: NamedDependency[AppState],
        text: Text = None,
        client: Annotated[str | None, QueryParameter(max_length=100)] = None,
        start_from: Annotated[str | None, QueryParameter(max_length=40, description="YYYY-MM-DD or RFC 3339")] = None,
        start_to: Annotated[
            str | None, QueryParameter(max_length=40, description="exclusive; a day is included")
        ] = None,
        participant: Annotated[str | None, QueryParameter(max_length=320)] = None,
        organizer: Annotated[str | None, QueryParameter(max_length=320)] = None,
        title: Annotated[str | None, QueryParameter(max_length=200)] = None,
        compliance_status: Annotated[str | None, QueryParameter(max_length=16)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> SearchPage:
        raw = {
            "text": text, "client": client, "start_from": start_from, "start_to": start_to,
            "participant": participant, "organizer": organizer, "title": title,
            "compliance_status": compliance_status,
        }
        return await run(run_search, app_state, raw, limit)
