"""The statistics a run's calibration targets compare with, per replicate
(:func:`per_replicate`), and the per-person pieces behind them; the targets, their sources
and the fitting are in :mod:`sim.results.calibration`.

Each function takes the agents table (a ``DataFrame``) or rows of it read as arrays
(:class:`Rows`): :func:`per_replicate` reads each column once and takes each replicate's
rows as slices of it (issue 19: a copy of the whole table per replicate, and pandas'
bookkeeping for each column read, were most of the table's time at sweep scale).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.categories import ABSENT, PHASED, RETIRED, WORKING
from sim.results.binning import exact_sums
from sim.results.outcomes import days_per_week

# how-absences-end bands (weeks, [low, high)): DWP/DHSC 2019's 6-9 months and a year or more
SPELL_END_BANDS = {"rtw_share_spells_26_39w": (26, 39), "rtw_share_spells_52w_plus": (52, None)}


class Rows:
    """Rows ``lo:hi`` of the agents table, each column read once as a numpy array (the
    values, or a category column's codes) and sliced (a view): ``rows[name]``."""

    def __init__(self, agents: pd.DataFrame, lo: int = 0, hi: int | None = None,
                 _cache: dict | None = None):
        self.agents = agents
        self.lo, self.hi = lo, len(agents) if hi is None else hi
        self._cache = {} if _cache is None else _cache

    def __len__(self) -> int:
        return self.hi - self.lo

    def __contains__(self, name) -> bool:
        return name in self.agents.columns

    def is_categorical(self, name: str) -> bool:
        kind = self._cache.get((name, "categorical"))
        if kind is None:
            kind = isinstance(self.agents[name].dtype, pd.CategoricalDtype)
            self._cache[name, "categorical"] = kind
        return kind

    def _array(self, name: str, codes: bool) -> np.ndarray:
        array = self._cache.get((name, codes))
        if array is None:
            series = self.agents[name]
            array = series.cat.codes.to_numpy() if codes else series.to_numpy()
            self._cache[name, codes] = array
        return array[self.lo:self.hi]

    def __getitem__(self, name: str) -> np.ndarray:
        """Column ``name``: its values, or a category column's codes."""
        return self._array(name, self.is_categorical(name))

    def values(self, name: str) -> np.ndarray:
        """Column ``name`` as ``Series.to_numpy()`` gives it (a category column's labels)."""
        return self._array(name, False)

    def categories(self, name: str) -> list:
        labels = self._cache.get((name, "categories"))
        if labels is None:
            labels = list(self.agents[name].cat.categories)
            self._cache[name, "categories"] = labels
        return labels

    def is_label(self, name: str, label) -> np.ndarray:
        """Whether each row's ``name`` is ``label`` (as text: ``astype(str) == label``)."""
        if not self.is_categorical(name):
            return self.values(name).astype(str) == label
        labels = [str(c) for c in self.categories(name)]
        codes = [i for i, c in enumerate(labels) if c == label]
        return self[name] == codes[0] if len(codes) == 1 else np.isin(self[name], codes)

    def rows(self, lo: int, hi: int) -> Rows:
        """Rows ``lo:hi`` of these rows (sharing the columns already read)."""
        return Rows(self.agents, self.lo + lo, self.lo + hi, self._cache)


def split_sums(values: np.ndarray, mask: np.ndarray) -> tuple:
    """``(values[mask].sum(), values[~mask].sum())``; for whole numbers both from one
    ``np.bincount`` (exact, so the same sums, as ``int64``: issue 19, a boolean selection
    of each column was most of the workforce targets' time at 10,000 people a replicate)."""
    if values.dtype.kind not in "iub" or (values.size and values.size * max(
            abs(int(values.min())), abs(int(values.max()))) >= 1 << 53):  # float sums inexact
        return values[mask].sum(), values[~mask].sum()
    sums = np.bincount(mask.view(np.uint8), weights=values, minlength=2).astype(np.int64)
    return sums[1], sums[0]


def share_of(values: np.ndarray, mask: np.ndarray) -> float:
    """``float(values[mask].mean())`` of a boolean ``values`` where ``mask`` has someone:
    the two counts' quotient (the mean's float sum of 0s and 1s is the count, exact, over
    the number of rows: the same division), without a boolean selection (issue 19: ~6 ns
    a person)."""
    return np.count_nonzero(values & mask) / np.count_nonzero(mask)


def _rows(agents) -> Rows:
    return agents if isinstance(agents, Rows) else Rows(agents)


def replicate_rows(agents: pd.DataFrame):
    """``(replicate, rows)`` for each replicate in the table, in order: slices of one
    :class:`Rows` when the table is sorted by replicate (as a run's is), else each
    replicate's rows of the table (``groupby``): the same rows in the same order."""
    replicate = agents["replicate"].to_numpy()
    if len(replicate) and not np.all(replicate[1:] >= replicate[:-1]):
        for rep, part in agents.groupby("replicate", observed=True):
            yield rep, Rows(part)
        return
    rows = Rows(agents)
    values, starts = np.unique(replicate, return_index=True)
    for rep, lo, hi in zip(values, starts, [*starts[1:], len(replicate)], strict=True):
        yield int(rep), rows.rows(int(lo), int(hi))


def continuously_absent(agents: pd.DataFrame, week: int) -> np.ndarray:
    """Off work since the first onset without any return up to ``week`` (the sources'
    "off sick for six weeks / six months"; a relapse spell at ``week`` does not count)."""
    rows = _rows(agents)
    first = rows["first_rtw"]
    return (rows["first_onset"] == 0) & ((first < 0) | (first > week))


def first_spell_end(agents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(end_week, ended_in_rtw)`` of each person's first absence spell: the week it
    ended in a return to work (``first_rtw``) or in leaving work (job loss or inactivity,
    whichever came first), -1 if it had not ended within the horizon or ended otherwise
    (retirement). Spells start at ``first_onset``."""
    rows = _rows(agents)
    rtw = rows["first_rtw"].astype(np.int64)
    lost = rows["job_loss_week"].astype(np.int64)
    inactive = rows["inactive_week"].astype(np.int64)
    never = np.iinfo(np.int64).max
    left = np.minimum(np.where(lost >= 0, lost, never), np.where(inactive >= 0, inactive, never))
    onset = rows["first_onset"].astype(np.int64)
    left = np.where(left >= onset, left, never)  # an exit before the spell is not its end
    returned = (rtw >= 0) & (rtw <= left)
    end = np.where(returned, rtw, np.where(left < never, left, -1))
    end = np.where((onset >= 0) & (end >= 0), end - np.maximum(onset, 0), -1)
    return end, returned


def exits_from_absence(agents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(exit_week, long)`` per person: the week of the first exit from a sickness absence
    to out of work during the observation (job loss, or inactivity straight from the
    absence; -1 if none), and whether that absence had lasted 5+ weeks ("more than 4
    weeks"): 1 long, 0 not, -1 unknown.

    The length is known exactly when the absence is the person's first one observed
    (``first_onset`` at or before the exit, no return in between), and known to be long when
    it began before the observation and the exit came at week 4 or later. An exit from a
    later absence (after a return), or within 4 weeks of the start of observation from an
    absence that began before it, is unknown.
    """
    rows = _rows(agents)
    never = np.iinfo(np.int64).max
    lost = rows["job_loss_week"].astype(np.int64)
    inactive = rows["inactive_week"].astype(np.int64)
    sep = rows["separation_week"].astype(np.int64)
    # inactivity straight from an absence: not after a job loss or ordinary separation
    straight = (inactive >= 0) & ((lost < 0) | (lost > inactive)) & ((sep < 0) | (sep > inactive))
    exit_week = np.minimum(np.where(lost >= 0, lost, never), np.where(straight, inactive, never))
    exit_week = np.where(exit_week < never, exit_week, -1)
    onset = rows["first_onset"].astype(np.int64)
    rtw = rows["first_rtw"].astype(np.int64)
    first = (onset >= 0) & (onset <= exit_week) & ((rtw < 0) | (rtw > exit_week))
    before = (onset < 0) | (onset > exit_week)  # the absence began before the observation
    long = np.full(exit_week.shape, -1, dtype=np.int8)
    long[first] = (exit_week - onset)[first] >= 5
    long[before & (exit_week >= 4)] = 1
    long[exit_week < 0] = -1
    return exit_week, long


def exit_flows(agents: pd.DataFrame, worker_years: float) -> dict:
    """The two UK flows out of work from sickness absence, per worker-year.

    ``left_work_from_absence_per_worker_year`` (Black & Frost 2011: employees going from sick
    leave on to claim health-related benefits, whatever the claim's outcome; over half were
    then found fit for work, so the model's job losses to unemployment count as well as its
    exits to inactivity): every first exit from an absence.
    ``left_work_after_ltsa_per_worker_year`` (DWP/DHSC 2019, LFS: left work after an absence
    of more than 4 weeks): the same exits times the share of them that followed an absence
    of 5+ weeks, among exits whose absence length is known (:func:`exits_from_absence`).
    """
    exit_week, long = exits_from_absence(agents)
    n_exits = int(np.sum(exit_week >= 0))
    out = {"left_work_from_absence_per_worker_year": n_exits / worker_years}
    known = long >= 0
    if known.any():
        out["left_work_after_ltsa_per_worker_year"] = float(
            n_exits * share_of(long == 1, known) / worker_years)
    return out


def rtw_share_by_spell_length(agents: pd.DataFrame, low: int, high: int | None) -> float:
    """Of first absence spells that ended after ``low`` to ``high`` weeks ([low, high)),
    the share that ended in a return to work rather than leaving work (the LFS measure of
    DWP/DHSC 2019: spells still running, or ended by retirement, are left out).
    ``agents`` may be :func:`first_spell_end`'s ``(end, returned)`` already."""
    end, returned = agents if isinstance(agents, tuple) else first_spell_end(agents)
    sel = (end >= low) & ((end < high) if high is not None else True)
    return share_of(returned, sel) if sel.any() else np.nan


def standardised_absence_rates(a: pd.DataFrame, hours: float, by: str = "imd_quintile",
                               strata=("age_band", "sex")) -> pd.Series:
    """Absence rate (share of employed weeks absent, phased weeks part-absent) per ``by``
    group, directly standardised to the age-sex mix of all employed weeks (the sources
    adjust for age and sex). Strata a group lacks are left out of its weights."""
    return pd.Series(_standardised_rates(a, hours, by, strata), dtype=float)


def _standardised_rates(a, hours: float, by: str = "imd_quintile",
                        strata=("age_band", "sex")) -> dict:
    """:func:`standardised_absence_rates` as ``{group: rate}`` (the calibration targets
    read two of them: no Series a replicate, issue 19)."""
    rows = _rows(a)
    off = rows["weeks_absent"] + (1 - hours) * rows["weeks_phased"]
    emp = rows["weeks_working"] + rows["weeks_phased"] + rows["weeks_absent"]
    # each person's stratum as an integer that sorts as its "age|sex" key does: the same
    # groups, in the same order, summed the same way as grouping by the text keys, which
    # cost ~0.9 s at a million people to build (issue 19)
    stratum = _stratum_ranks(a, strata)
    if exact_sums(off):
        return _rates_from_sums(rows.values(by), stratum, off, emp)
    df = pd.DataFrame({"group": rows.values(by), "off": off, "emp": emp, "stratum": stratum})
    cell = df.groupby(["group", "stratum"], observed=True)[["off", "emp"]].sum()
    weight = df.groupby("stratum")["emp"].sum()
    out = {}
    for g, sub in cell.groupby(level=0):
        sub = sub.droplevel(0)
        sub = sub[sub["emp"] > 0]
        w = weight.reindex(sub.index).to_numpy(dtype=float)
        out[g] = (float(np.sum(w * sub["off"] / sub["emp"]) / w.sum()) if w.sum() > 0
                  else np.nan)
    return out


def _rates_from_sums(group: np.ndarray, stratum: np.ndarray, off: np.ndarray,
                     emp: np.ndarray) -> dict:
    """:func:`standardised_absence_rates` from per (group, stratum) sums by bincount
    (issue 19: pandas' grouping was ~10 ms a replicate), when every sum of ``off`` is exact
    (:func:`~sim.results.binning.exact_sums`): the same sums as pandas' grouped sums,
    and the same arithmetic on them in the same order, so the same rates to the bit."""
    groups, code = _sorted_codes(group)  # sorted, as groupby sorts them
    if stratum.dtype.kind not in "iu":  # strata given as keys: their sorted order
        stratum = np.unique(stratum, return_inverse=True)[1]
    n_strata = int(stratum.max()) + 1 if len(stratum) else 1
    key = code.astype(np.int64) * n_strata + stratum
    cells = len(groups) * n_strata
    people = np.bincount(key, minlength=cells).reshape(len(groups), n_strata)
    off_sum = np.bincount(key, weights=off, minlength=cells).reshape(len(groups), n_strata)
    emp_sum = np.bincount(key, weights=emp, minlength=cells).reshape(len(groups), n_strata)
    weight = emp_sum.sum(axis=0)  # whole numbers: exact in any order
    out = {}
    for g, label in enumerate(groups.tolist()):
        keep = (people[g] > 0) & (emp_sum[g] > 0)  # observed strata with employed weeks
        w = weight[keep]
        out[label] = (float(np.sum(w * off_sum[g, keep] / emp_sum[g, keep]) / w.sum())
                      if w.sum() > 0 else np.nan)
    return out


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``: the distinct values, sorted, and each
    row's index among them; small whole numbers (IMD quintiles) by a count of each value
    instead of a sort (issue 19: a sort per replicate)."""
    if values.dtype.kind not in "iu" or not len(values):
        return np.unique(values, return_inverse=True)
    low = int(values.min())
    if int(values.max()) - low > 4 * len(values):  # sparse values: the sort is cheaper
        return np.unique(values, return_inverse=True)
    offset = values.astype(np.int64) - low
    seen = np.bincount(offset) > 0
    groups = (np.flatnonzero(seen) + low).astype(values.dtype)
    return groups, (np.cumsum(seen) - 1)[offset]


def _stratum_ranks(a: pd.DataFrame, strata) -> np.ndarray:
    """Each row's stratum (a combination of the ``strata`` columns) as the rank of its text
    key ``"<value>|<value>"`` (each value as ``astype(str)`` writes it) among every possible
    combination's key, in sorted order."""
    rows = _rows(a)
    if all(rows.is_categorical(col) for col in strata):
        # from the categories alone: ranked once for the whole table, each replicate's
        # rows a slice of it (issue 19: the keys were built and sorted per replicate)
        key = ("stratum ranks", tuple(strata))
        ranks = rows._cache.get(key)
        if ranks is None:
            ranks = _strata_ranks(Rows(rows.agents, _cache=rows._cache), strata)
            rows._cache[key] = ranks
        return ranks[rows.lo:rows.hi]
    return _strata_ranks(rows, strata)


def _strata_ranks(rows: Rows, strata) -> np.ndarray:
    """:func:`_stratum_ranks` of ``rows``, computed from their values."""
    import itertools

    codes, labels = [], []
    for col in strata:
        if rows.is_categorical(col):
            codes.append(rows[col].astype(np.int64))
            labels.append(pd.Series(rows.categories(col)).astype(str).tolist())
        else:
            values, inverse = np.unique(rows[col], return_inverse=True)
            codes.append(inverse.astype(np.int64))
            labels.append(pd.Series(values).astype(str).tolist())
    combined = np.zeros(len(rows), dtype=np.int64)
    for code, label in zip(codes, labels, strict=True):
        combined *= len(label)
        combined += code
    keys = ["|".join(parts) for parts in itertools.product(*labels)]  # in combined's order
    rank = np.empty(len(keys), dtype=np.int64)
    rank[np.argsort(np.array(keys, dtype=object), kind="stable")] = np.arange(len(keys))
    return rank[combined]


def imd_absence_ratio(a: pd.DataFrame, hours: float) -> float:
    """Age-sex standardised absence rate, most deprived IMD quintile (1) / least (5)."""
    rates = _standardised_rates(a, hours)  # the rates of standardised_absence_rates
    if 1 not in rates or 5 not in rates or not rates[5] > 0:
        return np.nan
    return float(rates[1] / rates[5])


AGE_RATIO_TARGETS = {"absence_rate_age16_24_to_35_49": "16-24",
                     "absence_rate_age50_64_to_35_49": "50-64"}


def age_absence_ratios(a: pd.DataFrame, hours: float) -> dict:
    """Absence rate of each age band in :data:`AGE_RATIO_TARGETS` over that of ages 35-49,
    from the first observed year (``*_y1`` columns), when almost everyone is still in the
    age band they started in (ONS counts age at the survey; over five years a third of
    people would have moved on). A run of one year or less has no ``*_y1`` columns: its
    totals are that year."""
    suffix = "_y1" if "weeks_absent_y1" in a else ""
    need = [f"weeks_{s}{suffix}" for s in ("absent", "phased", "working")]
    if not all(c in a for c in need):
        return {}
    rows = _rows(a)
    absent, phased, working = (rows[c] for c in need)
    off = absent + (1 - hours) * phased
    emp = working + phased + absent

    def rate(name):
        m = rows.is_label("age_band", name)
        e = split_sums(emp, m)[0]
        # np.compress: the same rows in order as off[m] (so the same sum), ~4x faster
        return np.compress(m, off).sum() / e if e > 0 else np.nan

    ref = rate("35-49")
    out = {}
    for target, name in AGE_RATIO_TARGETS.items():
        r = rate(name)
        if np.isfinite(r) and np.isfinite(ref) and ref > 0:
            out[target] = float(r / ref)
    return out


def per_replicate(agents: pd.DataFrame, spells: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Each calibration statistic of the run's mode (cohort or workforce), per replicate:
    replicate, target, simulated (a replicate's rows: :func:`replicate_rows`)."""
    mode = cfg["population"]["mode"]
    horizon = int(cfg["horizon_weeks"])
    hours = cfg["pathways"]["phased_return"]["hours_fraction"]
    day_weeks = days_per_week(cfg)
    # the spell table's columns read once (issue 19: a pandas selection per replicate);
    # only the workforce's targets read it
    spell_columns = [] if mode == "cohort" else [spells[c].to_numpy()
                                                 for c in ("replicate", "weeks", "spells")]
    cols: dict[str, list] = {"replicate": [], "target": [], "simulated": []}
    for rep, a in replicate_rows(agents):
        stats = {}
        if mode == "cohort":
            if "state_week_6" in a and "state_week_52" in a:
                # retirement (State Pension age, early retirement at 50-64) is not
                # "remaining off work" in HSE's sense: retired people are left out
                s52 = a["state_week_52"]
                off6 = (a["state_week_6"] == ABSENT) & (s52 != RETIRED)
                off6 &= continuously_absent(a, 6)
                not_working = (s52 != WORKING) & (s52 != PHASED)
                if off6.any():
                    stats["remain_off_52w_given_off_6w"] = share_of(not_working, off6)
            if "state_week_26" in a:
                off26 = ((a["state_week_26"] == ABSENT)
                         & continuously_absent(a, 26))
                for w in (104, 260):
                    if f"state_week_{w}" in a:
                        sw = a[f"state_week_{w}"]
                        keep = off26 & (sw != RETIRED)  # working-age, as the sources
                        if keep.any():
                            stats[f"in_work_{w}w_given_absent_26w"] = share_of(
                                (sw == WORKING) | (sw == PHASED), keep)
            if "job_loss_week" in a and "inactive_week" in a:
                ends = first_spell_end(a)  # once for every band
                for name, (low, high) in SPELL_END_BANDS.items():
                    if high is None or high <= horizon:
                        share = rtw_share_by_spell_length(ends, low, high)
                        if np.isfinite(share):
                            stats[name] = share
            if "benefit_week" in a:
                claim = a["benefit_week"].astype(np.int64)
                back = a["reemployed_week"].astype(np.int64)
                followed = (claim >= 0) & (claim + 65 <= horizon)
                if followed.any():
                    ok = (back >= claim) & (back <= claim + 65)
                    stats["claimants_in_work_within_65w"] = share_of(ok, followed)
        else:
            absent_weeks = a["weeks_absent"].sum() + (1 - hours) * a["weeks_phased"].sum()
            employed_weeks = a["weeks_working"].sum() + a["weeks_phased"].sum() + a[
                "weeks_absent"].sum()
            if employed_weeks > 0:
                stats["absence_rate"] = float(absent_weeks / employed_weeks)
                stats["days_lost_per_worker_year"] = float(
                    day_weeks * absent_weeks / (employed_weeks / 52.0))
            if "separation_week" in a and employed_weeks > 0:
                stats.update(exit_flows(a, employed_weeks / 52.0))
            female = a.is_label("sex", "female")
            working, phased, absent = (split_sums(a[f"weeks_{s}"], female)
                                       for s in ("working", "phased", "absent"))
            rates = []
            for k in (0, 1):  # female, then not
                emp = working[k] + phased[k] + absent[k]
                off = absent[k] + (1 - hours) * phased[k]
                rates.append(off / emp if emp > 0 else np.nan)
            if np.all(np.isfinite(rates)) and rates[1] > 0:
                stats["absence_rate_female_to_male"] = float(rates[0] / rates[1])
            stats.update(age_absence_ratios(a, hours))
            ratio = imd_absence_ratio(a, hours)
            if np.isfinite(ratio):
                stats["absence_rate_imd1_to_imd5"] = ratio
            sel = spell_columns[0] == rep
            lengths = np.repeat(spell_columns[1][sel], spell_columns[2][sel])
            if lengths.size:
                stats["spells_1_week"] = float(np.mean(lengths <= 1))
                stats["spells_2_4_weeks"] = float(np.mean((lengths >= 2) & (lengths <= 4)))
                stats["spells_5plus_weeks"] = float(np.mean(lengths >= 5))
                ordered = np.sort(lengths)[::-1]
                top = max(1, int(round(0.05 * ordered.size)))
                stats["top5pct_spells_share_of_time"] = float(ordered[:top].sum() / ordered.sum())
        cols["replicate"] += [rep] * len(stats)
        cols["target"] += list(stats)
        cols["simulated"] += list(stats.values())
    if not cols["target"]:
        return pd.DataFrame([], columns=["replicate", "target", "simulated"])
    # one frame from whole columns, as pandas infers them from the rows (issue 19)
    return pd.DataFrame(cols)
