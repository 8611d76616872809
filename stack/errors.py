"""Errors of the local stack, each with a message an operator can act on.

StackError
├── PrerequisiteMissing   java or mvn not on PATH
├── PortInUse             a port the stack needs is taken
├── ResolveFailed         the Kafka jars could not be fetched from Maven Central
└── ComponentFailed       a process exited or did not become ready (with its log's tail)
"""

from __future__ import annotations


class StackError(Exception):
    """Base of every error the stack launcher raises."""


class PrerequisiteMissing(StackError):
    pass


class PortInUse(StackError):
    pass


class ResolveFailed(StackError):
    pass


class ComponentFailed(StackError):
    pass
