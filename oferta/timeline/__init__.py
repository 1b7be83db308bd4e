"""The pure timeline core: calendars, money, periods and the contract state machine.

Nothing here does I/O or reads the clock, so it runs unchanged inside a Temporal
workflow, in the time machine and in plain unit tests.
"""
