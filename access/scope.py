"""Who may see which students: tenant scope enforced in the query layer.

A `Scope` names the states a caller belongs to (operators of the whole
installation have no state limit).  `scoped_session` returns a session in
which every ORM query on student-level tables is filtered to those states,
whatever the query itself says: a state's users cannot reach another state's
rows even through a forgotten `where`.  A table is student-level when its
model subclasses `kernel.database.StateScoped`; scope knows no domain's tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, with_loader_criteria
from sqlmodel import Session

from kernel.database import StateScoped
from kernel.errors import InvalidInput
from kernel.values import state_codes


@dataclass(frozen=True)
class Scope:
    states: frozenset[str] | None  # None: every state (installation operators only)
    who: str

    @classmethod
    def for_states(cls, states: list[str], who: str) -> Scope:
        wanted = state_codes(states)
        if not wanted:
            raise InvalidInput("name at least one state (a two-letter USPS state code)")
        return cls(wanted, who)

    @classmethod
    def operator(cls, who: str) -> Scope:
        return cls(None, who)

    def allows(self, state: str) -> bool:
        return self.states is None or state in self.states


def scoped_session(engine: Engine, scope: Scope) -> Session:
    """A session whose ORM reads of student-level rows are limited to `scope`'s states."""
    session = Session(engine, expire_on_commit=False)
    if scope.states is None:
        return session
    states = sorted(scope.states)

    @event.listens_for(session, "do_orm_execute")
    def _limit_to_scope(execute_state: ORMExecuteState) -> None:
        if execute_state.is_select or execute_state.is_update or execute_state.is_delete:
            execute_state.statement = execute_state.statement.options(
                *(
                    with_loader_criteria(table, table.state.in_(states), include_aliases=True)
                    for table in state_scoped_tables()
                ),
            )

    return session


def state_scoped_tables() -> list[type[StateScoped]]:
    """Every table model marked `StateScoped` (its module imported), in a stable order."""
    return sorted(StateScoped.__subclasses__(), key=lambda cls: cls.__name__)
