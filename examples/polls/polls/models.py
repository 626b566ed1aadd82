"""The polls' data: SQLAlchemy 2 models and the database they live in."""

from __future__ import annotations

import datetime
import os
import threading
from pathlib import Path

from sqlalchemy import ForeignKey, String, UniqueConstraint, create_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
QUESTION_MAX_LENGTH = 200
CHOICE_MAX_LENGTH = 100


def utcnow() -> datetime.datetime:
    """The current time in UTC."""
    return datetime.datetime.now(datetime.UTC)


class Base(DeclarativeBase):
    """Base class of the polls' models."""


class Poll(Base):
    """A question and the choices users vote for."""

    __tablename__ = "polls_poll"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(String(QUESTION_MAX_LENGTH))
    created: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    author_pk: Mapped[int | None]
    author_name: Mapped[str] = mapped_column(String(150), default="")
    choices: Mapped[list[Choice]] = relationship(
        back_populates="poll", order_by="Choice.position", cascade="all, delete-orphan"
    )
    votes: Mapped[list[Vote]] = relationship(back_populates="poll", cascade="all, delete-orphan")


class Choice(Base):
    """One answer a poll offers."""

    __tablename__ = "polls_choice"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls_poll.id"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(String(CHOICE_MAX_LENGTH))
    poll: Mapped[Poll] = relationship(back_populates="choices")
    votes: Mapped[list[Vote]] = relationship(back_populates="choice")


class Vote(Base):
    """A user's vote in a poll: one per user and poll (voting again changes it)."""

    __tablename__ = "polls_vote"
    __table_args__ = (UniqueConstraint("poll_id", "user_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls_poll.id"))
    choice_id: Mapped[int] = mapped_column(ForeignKey("polls_choice.id"))
    user_pk: Mapped[int]
    username: Mapped[str] = mapped_column(String(150), default="")
    when: Mapped[datetime.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    poll: Mapped[Poll] = relationship(back_populates="votes")
    choice: Mapped[Choice] = relationship(back_populates="votes")


def default_database_url() -> str:
    """`POLLS_DATABASE_URL`, else `polls.sqlite3` in `POLLS_DATA_DIR` (default: the example)."""
    url = os.environ.get("POLLS_DATABASE_URL", "")
    if url:
        return url
    data_dir = Path(os.environ.get("POLLS_DATA_DIR", "") or EXAMPLE_DIR)
    return f"sqlite:///{data_dir / 'polls.sqlite3'}"


class Database:
    """An engine and its session factory; the tables are created on first use."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_database_url()
        # Sync actions run in a thread pool: an SQLite connection may serve several threads.
        connect_args = {"check_same_thread": False} if self.url.startswith("sqlite") else {}
        self.engine = create_engine(self.url, connect_args=connect_args)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._ready = False
        self._lock = threading.Lock()

    def create_tables(self) -> None:
        """Create the tables that do not exist yet."""
        with self._lock:
            if not self._ready:
                Base.metadata.create_all(self.engine)
                self._ready = True

    def session(self) -> Session:
        """A new session (use it as a context manager; `session.begin()` for a transaction)."""
        self.create_tables()
        return self._sessions()

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
