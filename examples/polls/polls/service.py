"""The polls service: anonymous users read polls and results, signed-in users vote,
project members create polls and administrators see who voted what.

Run it with `plugit serve polls.service:service` from `examples/polls`; tests build a fresh
instance on their own database with `create_service(url)`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from plugit import Abort, Request, Service, Settings
from plugit.interceptors import ActionCall, CallNext
from plugit.utils import (
    PlugItRedirect,
    cache,
    json_only,
    only_admin_user,
    only_logged_user,
    only_member_user,
    public,
    user_info,
)

from .live import LiveResults, serve_live_results
from .models import CHOICE_MAX_LENGTH, QUESTION_MAX_LENGTH, Choice, Database, Poll, Vote

HERE = Path(__file__).resolve().parent
CONFIG_FILE = HERE.parent / "config.py"
MIN_CHOICES, MAX_CHOICES = 2, 10
LATEST_IN_MENU = 5


def load_settings() -> Settings:
    """The example's `config.py` overridden by `PLUGIT_*` variables.

    Loaded by path rather than imported as `config`, so the example's settings are found
    whatever the working directory and never mixed up with another service's `config`.
    """
    spec = importlib.util.spec_from_file_location("polls_config", CONFIG_FILE)
    if spec is None or spec.loader is None or not CONFIG_FILE.is_file():
        return Settings.load()
    config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(config)
    return Settings.load(config)


service = Service("polls", root=HERE, settings=load_settings())

# The database and the live results of the service running the current action (set around
# each call, below).
_database: ContextVar[Database] = ContextVar("polls_database")
_live: ContextVar[LiveResults] = ContextVar("polls_live")


def use_database(target: Service, database: Database) -> None:
    """Make `database` the one `db()` opens while `target` runs an action; serve its live
    results (the socket `live/<poll id>`) to the pages of this process."""
    live = LiveResults()

    @target.interceptor
    async def provide_database(call: ActionCall, call_next: CallNext) -> Any:
        tokens = _database.set(database), _live.set(live)
        try:
            return await call_next()
        finally:
            _database.reset(tokens[0])
            _live.reset(tokens[1])

    serve_live_results(target, live, lambda poll_id: read_counts(database, poll_id))


def db() -> Session:
    """A new session on the current service's database (actions run in worker threads)."""
    return _database.get().session()


def create_service(database_url: str | None = None) -> Service:
    """A polls service on its own database (by default `POLLS_DATABASE_URL`), tables created,
    with its own live results."""
    database = Database(database_url)
    database.create_tables()
    fresh = Service("polls", root=HERE, settings=service.settings)
    fresh.add_actions(list(service.registry))
    use_database(fresh, database)
    return fresh


# -- who is asking ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class User:
    """The signed-in user, as the proxy describes them in `ebuio_u_*` parameters."""

    pk: int
    username: str


def current_user(request: Request) -> User | None:
    """The user the proxy sent (GET: query, POST: form), or None when anonymous."""
    pk = request.values.get("ebuio_u_pk", type=int)
    if pk is None:
        return None
    return User(pk=pk, username=request.values.get("ebuio_u_username", ""))


# -- reading polls ---------------------------------------------------------------------------
def get_poll(session: Session, poll_id: int) -> Poll:
    """The poll with its choices and votes, or a 404 for the proxy."""
    poll = session.scalar(
        select(Poll)
        .where(Poll.id == poll_id)
        .options(selectinload(Poll.choices).selectinload(Choice.votes))
    )
    if poll is None:
        raise Abort(404, f"no poll {poll_id}")
    return poll


def poll_summary(poll: Poll) -> dict[str, Any]:
    """What every page shows of a poll."""
    return {
        "id": poll.id,
        "question": poll.question,
        "author": poll.author_name,
        "created": poll.created.isoformat(timespec="minutes"),
    }


def results(poll: Poll, user: User | None = None) -> dict[str, Any]:
    """The poll's choices with their votes and share, and the user's own choice."""
    total = sum(len(choice.votes) for choice in poll.choices)
    mine = next(
        (v.choice_id for c in poll.choices for v in c.votes if user and v.user_pk == user.pk),
        None,
    )
    choices = [
        {
            "id": choice.id,
            "text": choice.text,
            "votes": len(choice.votes),
            "percent": round(100 * len(choice.votes) / total) if total else 0,
            "mine": choice.id == mine,
        }
        for choice in poll.choices
    ]
    return {"poll": poll_summary(poll), "choices": choices, "total": total, "my_choice": mine}


# -- pages -----------------------------------------------------------------------------------
@service.action("/", template="index.html")
@public()
@user_info(props=["pk"])
def index(request: Request) -> dict[str, Any]:
    """Every poll, newest first, with its number of votes and whether the user voted.

    No `@cache`: the page changes with every vote and marks the user's own votes.
    """
    user = current_user(request)
    with db() as session:
        per_poll = select(Vote.poll_id, func.count()).group_by(Vote.poll_id)
        counts: dict[int, int] = {row[0]: row[1] for row in session.execute(per_poll)}
        voted: set[int] = set()
        if user is not None:
            voted = set(session.scalars(select(Vote.poll_id).where(Vote.user_pk == user.pk)))
        polls = session.scalars(select(Poll).order_by(Poll.created.desc(), Poll.id.desc()))
        return {
            "polls": [
                {**poll_summary(poll), "votes": counts.get(poll.id, 0), "voted": poll.id in voted}
                for poll in polls
            ],
            **menu_data(session),
        }


@service.action("/show/<int:pollId>", template="show.html")
@public()
@user_info(props=["pk", "username", "ebuio_admin"])
def show(request: Request, pollId: int) -> dict[str, Any]:
    """A poll's results, and a vote form for signed-in users."""
    user = current_user(request)
    with db() as session:
        return {
            **results(get_poll(session, pollId), user),
            "can_vote": user is not None,
            "is_admin": request.values.get("ebuio_u_ebuio_admin") == "True",
            **menu_data(session),
        }


@service.action("/vote/<int:pollId>", template="show.html", methods=["POST"])
@only_logged_user()
@user_info(props=["pk", "username"])
def vote(request: Request, pollId: int) -> Any:
    """Record (or change) the user's vote, then show the poll again."""
    user = current_user(request)
    assert user is not None  # the proxy lets only signed-in users through
    choice_id = request.form.get("choice", type=int)
    with db() as session, session.begin():
        poll = get_poll(session, pollId)
        choice = next((c for c in poll.choices if c.id == choice_id), None)
        if choice is None:
            return {
                **results(poll, user),
                "can_vote": True,
                "error": "Pick one of the choices.",
                **menu_data(session),
            }
        cast_vote(session, poll, choice, user)
    _live.get().publish(pollId, read_counts(_database.get(), pollId) or {})
    return PlugItRedirect(f"show/{pollId}")


def cast_vote(session: Session, poll: Poll, choice: Choice, user: User) -> None:
    """Store the user's vote in `poll`, replacing any earlier one."""
    existing = session.scalar(select(Vote).where(Vote.poll_id == poll.id, Vote.user_pk == user.pk))
    if existing is None:
        session.add(Vote(poll=poll, choice=choice, user_pk=user.pk, username=user.username))
    else:
        existing.choice, existing.username = choice, user.username


@service.action("/create", template="create.html", methods=["GET", "POST"])
@only_member_user()
@user_info(props=["pk", "username"])
def create(request: Request) -> Any:
    """The new-poll form; a valid POST creates the poll and shows it."""
    if request.method != "POST":
        return poll_form("", [])
    question = request.form.get("question", "").strip()
    choices = [text.strip() for text in request.form.getlist("choice") if text.strip()]
    errors = validate_poll(question, choices)
    if errors:
        return {**poll_form(question, choices), "errors": errors}
    user = current_user(request)
    with db() as session, session.begin():
        poll = Poll(
            question=question,
            author_pk=user.pk if user else None,
            author_name=user.username if user else "",
            choices=[Choice(position=i, text=text) for i, text in enumerate(choices)],
        )
        session.add(poll)
    return PlugItRedirect(f"show/{poll.id}")


def poll_form(question: str, choices: list[str]) -> dict[str, Any]:
    """The create form's values: the question and MAX_CHOICES choice fields."""
    fields = (choices + [""] * MAX_CHOICES)[: max(MAX_CHOICES, len(choices))]
    with db() as session:
        menu = menu_data(session)
    return {
        **menu,
        "question": question,
        "choice_fields": fields,
        "min_choices": MIN_CHOICES,
        "max_choices": MAX_CHOICES,
        "errors": [],
    }


def validate_poll(question: str, choices: list[str]) -> list[str]:
    """What is wrong with a new poll, in words a user understands (empty when valid)."""
    errors = []
    if not question:
        errors.append("Write a question.")
    elif len(question) > QUESTION_MAX_LENGTH:
        errors.append(f"The question is too long: at most {QUESTION_MAX_LENGTH} characters.")
    if len(choices) < MIN_CHOICES:
        errors.append(f"Give at least {MIN_CHOICES} choices.")
    elif len(choices) > MAX_CHOICES:
        errors.append(f"Give at most {MAX_CHOICES} choices.")
    errors += [
        f"The choice “{text[:20]}…” is too long: at most {CHOICE_MAX_LENGTH} characters."
        for text in choices
        if len(text) > CHOICE_MAX_LENGTH
    ]
    seen: set[str] = set()
    for text in choices:
        if text.casefold() in seen:
            errors.append(f"The choice “{text}” is given twice.")
        seen.add(text.casefold())
    return errors


@service.action("/voters/<int:pollId>", template="voters.html")
@only_admin_user()
def voters(request: Request, pollId: int) -> dict[str, Any]:
    """Who voted what, choice by choice (for the project's administrators)."""
    with db() as session:
        poll = get_poll(session, pollId)
        return {
            "poll": poll_summary(poll),
            "choices": [
                {
                    "text": choice.text,
                    "voters": [
                        {"pk": v.user_pk, "username": v.username or f"user {v.user_pk}"}
                        for v in sorted(choice.votes, key=lambda v: v.username.casefold())
                    ],
                }
                for choice in poll.choices
            ],
            "total": sum(len(choice.votes) for choice in poll.choices),
            **menu_data(session),
        }


def read_counts(database: Database, poll_id: int) -> dict[str, Any] | None:
    """What a live results page redraws: each choice's votes and share, and the total."""
    with database.session() as session:
        poll = session.get(Poll, poll_id)
        if poll is None:
            return None
        data = results(get_poll(session, poll_id))
    choices = [{key: c[key] for key in ("id", "votes", "percent")} for c in data["choices"]]
    return {"poll": poll_id, "total": data["total"], "choices": choices}


@service.action("/results/<int:pollId>.json")
@public()
@json_only()
@cache(time=10, byUser=False)  # the same for everyone; ten seconds late is fine for a chart
def results_json(request: Request, pollId: int) -> dict[str, Any]:
    """A poll's results as JSON, for scripts and charts."""
    with db() as session:
        data = results(get_poll(session, pollId))
    return {
        "poll": data["poll"],
        "total": data["total"],
        "choices": [{"text": c["text"], "votes": c["votes"]} for c in data["choices"]],
    }


@service.action("/menubar", template="menubar.html")
@public()
def menubar(request: Request) -> dict[str, Any]:
    """The side menu alone; pages include its template in their own `menubar` block."""
    with db() as session:
        return menu_data(session)


def menu_data(session: Session) -> dict[str, Any]:
    """What the side menu shows: the latest polls (links by role come from `ebuio_u`)."""
    latest = session.scalars(
        select(Poll).order_by(Poll.created.desc(), Poll.id.desc()).limit(LATEST_IN_MENU)
    )
    return {"latest": [poll_summary(poll) for poll in latest]}


# The served instance's database: `POLLS_DATABASE_URL`, opened on the first action.
use_database(service, Database())
