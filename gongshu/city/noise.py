"""Planting variations and defects (差异与缺陷植入) at known rates, recording each one.

*Variation* is what standardisation should repair (全角数字, 15 位身份证号, date forms, whitespace,
case, name typos, stale addresses, missing optional values). *Defect* is what cleansing should
quarantine (问题数据). Each planted cell is one manifest record: source, table, record key, row,
field, category, kind, planted value and clean value. A cell receives at most one alteration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.city import ids
from gongshu.city.frames import Frame
from gongshu.city.text import as_text, date_style, fullwidth_digits, join, put, take, where

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

VARIATIONS: dict[str, str] = {
    "fullwidth_digits": "digits written full-width (全角数字 ０-９)",
    "id_15_digit": "legacy 15-digit 身份证号 (GB 11643 old format) of someone born before 1985",
    "case_noise": "letters in the wrong case (lower-case x / USCC / VIN / plate letters)",
    "whitespace": "leading, trailing or full-width spaces",
    "date_format": "a date in another Chinese form than the column's usual one",
    "name_typo": "a homophone or similar-looking character (同音/形近字) in a name",
    "stale_address": "an older address of the same person",
    "optional_missing": "an optional value left empty",
    "plate_format": "plate number written with a middle dot or space (沪A·12345)",
}
DEFECTS: dict[str, str] = {
    "id_check_digit": "身份证号 whose check character is wrong",
    "id_birth_date": "身份证号 whose birth-date digits are not a calendar date",
    "id_area_code": "身份证号 whose area code is unknown (no such province)",
    "uscc_check_char": "统一社会信用代码 whose check character is wrong",
    "vin_check_digit": "VIN whose 9th (check) character is wrong",
    "date_unparseable": "a date value that is not a date",
    "code_unknown": "a code value outside its code set",
    "phone_invalid": "a malformed mobile number",
    "required_missing": "a required value left empty",
    "duplicate_key": "a second record with the same primary key",
    "coord_outside_district": "coordinates placed outside the record's district",
}
DEFAULT_DEFECT_RATE = 0.015
DEFAULT_VARIATION_RATE = 0.03


@dataclass(frozen=True)
class Rates:
    """Planting rates per kind (fraction of a table's rows); unknown kinds use the defaults.

    Example: ``Rates(defect=0.02, overrides={"duplicate_key": 0.005})``.
    """

    defect: float = DEFAULT_DEFECT_RATE
    variation: float = DEFAULT_VARIATION_RATE
    overrides: Mapping[str, float] = field(default_factory=dict)

    def of(self, kind: str) -> float:
        if kind in self.overrides:
            return float(self.overrides[kind])
        return self.defect if kind in DEFECTS else self.variation

    def as_dict(self) -> dict[str, float]:
        return {kind: self.of(kind) for kind in [*VARIATIONS, *DEFECTS]}


MANIFEST_FIELDS = ("record_key", "row", "field", "category", "kind", "planted", "clean")


class Planter:
    """Alters the cells of one frame and records each alteration."""

    def __init__(self, frame: Frame, rng: np.random.Generator, rates: Rates) -> None:
        self.frame = frame
        self.rng = rng
        self.rates = rates
        self.n = frame.rows
        self._pools: dict[str, tuple[I64, Mask]] = {}
        self._pending: dict[str, list[tuple[I64, pa.Array]]] = {}
        self.records = frame.planted

    # -- choosing rows ------------------------------------------------------------------------

    def rows(self, name: str, kind: str, eligible: Mask | None = None) -> I64:
        """Rows not yet altered in column ``name``, at the rate of ``kind``."""
        if name not in self._pools:
            self._pools[name] = (self.rng.permutation(self.n), np.zeros(self.n, dtype=bool))
        perm, used = self._pools[name]
        ok = ~used & self.frame.columns[name].is_valid().to_numpy(zero_copy_only=False)
        if eligible is not None:
            ok &= eligible
        count = int(self.rng.binomial(self.n, self.rates.of(kind))) if self.n else 0
        chosen = perm[ok[perm]][:count]
        chosen = np.sort(chosen)
        used[chosen] = True
        return chosen

    def plant(
        self,
        name: str,
        kind: str,
        make: Callable[[I64, pa.Array], pa.Array],
        *,
        eligible: Mask | None = None,
        clean: pa.Array | None = None,
    ) -> I64:
        """Replace ``name`` at chosen rows by ``make(rows, old_values)`` and record it.

        ``clean`` (full column) gives the standard value when it differs from the stored one.
        """
        rows = self.rows(name, kind, eligible)
        if len(rows) == 0:
            return rows
        old = take(self.frame.columns[name], rows)  # pools are disjoint: still the original
        new = make(rows, old).cast(old.type)
        self._pending.setdefault(name, []).append((rows, new))
        truth = take(clean, rows) if clean is not None else old
        self.record(rows, name, kind, new, truth)
        return rows

    def record(self, rows: I64, name: str, kind: str, planted: pa.Array, clean: pa.Array) -> None:
        keys = take(self.frame.columns[self.frame.spec.key], rows)
        n = len(rows)
        self.records.append(
            {
                "record_key": as_text(keys),
                "row": pa.array(rows, pa.int64()),
                "field": pa.array([name] * n, pa.string()),
                "category": pa.array(["defect" if kind in DEFECTS else "variation"] * n, pa.string()),
                "kind": pa.array([kind] * n, pa.string()),
                "planted": as_text(planted),
                "clean": as_text(clean),
            }
        )

    # -- variations -----------------------------------------------------------------------------

    def fullwidth(self, name: str) -> None:
        self.plant(name, "fullwidth_digits", lambda r, v: fullwidth_digits(v))

    def whitespace(self, name: str) -> None:
        def make(rows: I64, v: pa.Array) -> pa.Array:
            style = self.rng.integers(0, 3, len(rows))
            return where(style == 0, join(" ", v), where(style == 1, join(v, "  "), join(v, "\u3000")))

        self.plant(name, "whitespace", make)

    def lower(self, name: str, eligible: Mask | None = None) -> None:
        self.plant(name, "case_noise", lambda r, v: pc.utf8_lower(v), eligible=eligible)

    def missing_optional(self, name: str) -> None:
        self.plant(name, "optional_missing", lambda r, v: pa.nulls(len(r), v.type))

    def dates(self, name: str, days: I64, styles: tuple[str, ...], iso: pa.Array) -> None:
        """Alternative date forms (variation), then unparseable dates (defect)."""

        def make(rows: I64, v: pa.Array) -> pa.Array:
            choice = self.rng.integers(0, len(styles), len(rows))
            out = v
            for k, style in enumerate(styles):
                out = where(choice == k, date_style(days[rows], style), out)
            return out

        self.plant(name, "date_format", make, clean=iso)
        self.plant(name, "date_unparseable", lambda r, v: self.pick(BAD_DATES, len(r)), clean=iso)

    def pick(self, values: list[str], n: int) -> pa.Array:
        return take(pa.array(values), self.rng.integers(0, len(values), n))

    # -- defects --------------------------------------------------------------------------------

    def required(self, name: str) -> None:
        self.plant(name, "required_missing", lambda r, v: pa.nulls(len(r), v.type))

    def code(self, name: str, unknown: list[str]) -> None:
        self.plant(name, "code_unknown", lambda r, v: self.pick(unknown, len(r)))

    def phone(self, name: str) -> None:
        def make(rows: I64, v: pa.Array) -> pa.Array:
            style = self.rng.integers(0, 3, len(rows))
            short = pc.utf8_slice_codeunits(v, 0, 10)
            longer = join(v, "8")
            bad_prefix = join("12", pc.utf8_slice_codeunits(v, 2, 11))
            return where(style == 0, short, where(style == 1, longer, bad_prefix))

        self.plant(name, "phone_invalid", make)

    def flush(self) -> None:
        """Write the pending alterations into the frame's columns (one scatter per column)."""
        for name, changes in self._pending.items():
            rows = np.concatenate([r for r, _ in changes])
            values = pa.concat_arrays([v for _, v in changes])
            self.frame.columns[name] = put(self.frame.columns[name], rows, values)
        self._pending.clear()

    def duplicates(self) -> None:
        """Append copies of some rows: the duplicate_key defect (recorded at the copies' rows).

        Call last: it flushes the pending alterations first.
        """
        self.flush()
        frame = self.frame
        src = np.sort(
            self.rng.permutation(self.n)[: int(self.rng.binomial(self.n, self.rates.of("duplicate_key")))]
        )
        if len(src) == 0:
            return
        for name, column in frame.columns.items():
            frame.columns[name] = pa.concat_arrays([column, take(column, src)])
        for identity in frame.identities:
            identity.entity_id = pa.concat_arrays([identity.entity_id, take(identity.entity_id, src)])
        rows = self.n + np.arange(len(src), dtype=np.int64)
        keys = take(frame.columns[frame.spec.key], rows)
        self.record(rows, frame.spec.key, "duplicate_key", keys, keys)
        self.n = frame.rows


BAD_DATES = ["2020-13-45", "0000-00-00", "不详", "2019年2月30日", "20211341", "99/99/9999", "待补录"]
BAD_BIRTH_MMDD = [230, 431, 1301, 0, 632, 1100, 931]


def _with_check(first17: U8) -> pa.Array:
    return ids.to_strings(np.hstack([first17, ids.id_check_chars(first17)]))


class IdNoise:
    """Variations and defects of a 身份证号 column, built from the true code matrix."""

    def __init__(self, planter: Planter, name: str, matrix: U8, birth: I64) -> None:
        self.p, self.name, self.m, self.birth = planter, name, matrix, birth

    def apply(self, *, required: bool = True, legacy: bool = True) -> None:
        p, name = self.p, self.name
        p.fullwidth(name)
        if legacy:
            old = ids.ymd(self.birth) < 19850101
            p.plant(name, "id_15_digit", lambda r, v: ids.legacy_id_numbers(self.m[r]), eligible=old)
        ends_x = self.m[:, 17] == ord("X")
        p.lower(name, eligible=ends_x)
        p.whitespace(name)
        p.plant(name, "id_check_digit", self._bad_check)
        p.plant(name, "id_birth_date", self._bad_birth)
        p.plant(name, "id_area_code", self._bad_area)
        if required:
            p.required(name)

    def _bad_check(self, rows: I64, v: pa.Array) -> pa.Array:
        m = self.m[rows]
        true = np.where(m[:, 17] == ord("X"), 10, m[:, 17].astype(np.int64) - 48)
        wrong = (true + self.p.rng.integers(1, 11, len(rows))) % 11
        return ids.to_strings(np.hstack([m[:, :17], ids.letters("0123456789X", wrong)]))

    def _bad_birth(self, rows: I64, v: pa.Array) -> pa.Array:
        m = self.m[rows].copy()
        mmdd = np.array(BAD_BIRTH_MMDD)[self.p.rng.integers(0, len(BAD_BIRTH_MMDD), len(rows))]
        m[:, 10:14] = ids.digits(mmdd, 4)
        return _with_check(m[:, :17])

    def _bad_area(self, rows: I64, v: pa.Array) -> pa.Array:
        from gongshu.city.reference import reference

        m = self.m[rows].copy()
        codes = reference().unknown_area_codes
        m[:, :6] = ids.digits(codes[self.p.rng.integers(0, len(codes), len(rows))], 6)
        return _with_check(m[:, :17])


def uscc_noise(p: Planter, name: str, matrix: U8) -> None:
    """Variations and the wrong-check-character defect of a 统一社会信用代码 column."""
    has_letter = np.asarray((matrix >= ord("A")).any(axis=1), dtype=bool)
    p.lower(name, eligible=has_letter)
    p.whitespace(name)

    def bad(rows: I64, v: pa.Array) -> pa.Array:
        m = matrix[rows]
        true_idx = np.searchsorted(np.frombuffer(ids.USCC_ALPHABET.encode(), np.uint8), m[:, 17])
        wrong = (true_idx + p.rng.integers(1, 31, len(rows))) % 31
        return ids.to_strings(np.hstack([m[:, :17], ids.letters(ids.USCC_ALPHABET, wrong)]))

    p.plant(name, "uscc_check_char", bad)


def name_noise(
    p: Planter,
    name: str,
    surname: I64,
    given1: I64,
    given2: I64,
    *,
    required: bool = True,
    eligible: Mask | None = None,
) -> None:
    """Name typos (同音/形近字), whitespace, and missing names when required."""
    from gongshu.city.population import person_names
    from gongshu.city.reference import reference

    ref = reference()
    sub_given = ref.given_similar[given1]
    sub_surname = ref.surname_similar[surname]

    def make(rows: I64, v: pa.Array) -> pa.Array:
        g = sub_given[rows]
        s = np.where(g >= 0, surname[rows], sub_surname[rows])
        return person_names(ref, s, np.where(g >= 0, g, given1[rows]), given2[rows])

    similar = (sub_given >= 0) | (sub_surname >= 0)
    p.plant(name, "name_typo", make, eligible=similar if eligible is None else similar & eligible)
    p.whitespace(name)
    if required:
        p.required(name)


def phone_noise(p: Planter, name: str) -> None:
    """Phone variations (full-width, spaces, missing) and malformed numbers."""
    p.fullwidth(name)
    p.whitespace(name)
    p.missing_optional(name)
    p.phone(name)
