"""The organisation cases are routed through: departments and grids."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Department(SQLModel, table=True):
    __tablename__ = "departments"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=128)
    level: str = Field(max_length=16)  # 网格 / 社区 / 街道 / 区 / 市
    parent_code: str | None = Field(default=None, foreign_key="departments.code", max_length=64)
    active: bool = True
    # From the active city profile's routing file (t003): its default deadline and which profile owns it.
    deadline_hours: int | None = None
    profile: str | None = Field(default=None, max_length=64)


class Grid(SQLModel, table=True):
    __tablename__ = "grids"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=128)
    community: str = Field(max_length=128, index=True)
    street: str = Field(max_length=128, index=True)
