"""Money as a Decimal amount with a currency; never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# ISO 4217 minor units of the currencies the contracts use.
_MINOR_UNITS = {"KZT": 2, "EUR": 2, "USD": 2, "RUB": 2}


class CurrencyMismatch(ValueError):
    pass


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError('write money as a decimal string (e.g. "2500.00"), never a float')
    return value


# A Decimal that refuses floats (binary fractions are not money).
Amount = Annotated[Decimal, BeforeValidator(_no_float)]


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: Amount
    currency: str = Field(pattern=r"^[A-Z]{3}$")

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        return cls(amount=Decimal(amount), currency=currency).rounded()

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal(0), currency=currency).rounded()

    def rounded(self) -> Money:
        quantum = Decimal(1).scaleb(-_MINOR_UNITS.get(self.currency, 2))
        return Money(amount=self.amount.quantize(quantum, ROUND_HALF_UP), currency=self.currency)

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def times(self, factor: Decimal) -> Money:
        return Money(amount=self.amount * factor, currency=self.currency).rounded()

    def min(self, other: Money) -> Money:
        self._check(other)
        return self if self.amount <= other.amount else other

    def max(self, other: Money) -> Money:
        self._check(other)
        return self if self.amount >= other.amount else other

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def __str__(self) -> str:
        return f"{self.rounded().amount} {self.currency}"
