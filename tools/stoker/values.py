"""A base for small value classes: equality, hash and repr from the class's __slots__.

The classes on `stoker butane`'s start-up path use it instead of dataclasses:
importing `dataclasses` pulls in `inspect` (with `ast`, `dis`, `tokenize`) and each
@dataclass generates and compiles code when its module is imported, together about
a fifth of a small translation's whole run. Each subclass writes its own __init__
(the signature is the documentation) and lists its fields in __slots__, in order.
"""

from __future__ import annotations


class Value:
    """Fields are the names in __slots__, in order. Two values are equal when they
    are of the same class and their fields are equal; the hash is that of the
    fields (a subclass whose fields change sets `__hash__ = None`); repr is
    `Name(field=value, ...)`, as a dataclass's."""

    __slots__ = ()

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.__slots__) + ")"
