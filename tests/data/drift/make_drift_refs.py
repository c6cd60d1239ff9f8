#!/usr/bin/python3
"""Reference values for drift, quality and PII tests (tests/eval_drift).

Run with Debian's python3 (scipy 1.10, numpy 1.24):
    /usr/bin/python3 tests/data/drift/make_drift_refs.py
Writes CSV inputs and expected_*.json next to this script. Expected drift
figures come from scipy (ks_2samp, chisquare, wasserstein_distance,
jensenshannon, entropy) and numpy (histogram_bin_edges 'sturges'), with the
Evidently definitions written out by hand (PSI, z-test, binning, zero fill).
Quality figures are computed with plain Python (csv module), no pandas.
"""
import csv
import json
import math
import os
import warnings
from datetime import datetime, timedelta, timezone

import numpy as np
from scipy import stats
from scipy.spatial import distance

HERE = os.path.dirname(os.path.abspath(__file__))
warnings.simplefilter("ignore")  # chisquare with a zero expected count warns (inf statistic)

METHODS = ["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "kl_div"]
DEFAULT_THRESHOLD = {"ks": 0.05, "chisquare": 0.05, "z": 0.05, "wasserstein": 0.1,
                     "jensenshannon": 0.1, "psi": 0.1, "kl_div": 0.1}


def fmt(v):
    if isinstance(v, str):
        return v
    if v is None:
        return ""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(float(v))


def write_csv(path, columns, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([fmt(v) for v in r])


def clean(values, numerical):
    if numerical:
        a = np.asarray(values, dtype=float)
        return a[np.isfinite(a)]
    return np.asarray([v for v in values if v != ""], dtype=object)


def keys_of(ref, cur, numerical):
    keys = set(ref.tolist()) | set(cur.tolist())
    return sorted(keys, key=float) if numerical else sorted(keys)


def counts(values, keys):
    c = {k: 0 for k in keys}
    for v in values.tolist():
        c[v] += 1
    return np.array([c[k] for k in keys], dtype=float)


def fill_zeroes(p):
    p = p.copy()
    nz = p[p != 0]
    fill = nz.min() / 10 ** 6 if nz.min() <= 0.0001 else 0.0001
    np.place(p, p == 0, fill)
    return p


def binned(ref, cur, numerical):
    if numerical and len(np.unique(ref)) > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        rp = np.histogram(ref, edges)[0] / len(ref)
        cp = np.histogram(cur, edges)[0] / len(cur)
        bins = {"kind": "sturges", "edges": edges.tolist()}
    else:
        keys = keys_of(ref, cur, numerical)
        rp = counts(ref, keys) / len(ref)
        cp = counts(cur, keys) / len(cur)
        bins = {"kind": "values", "count": len(keys)}
    return fill_zeroes(rp), fill_zeroes(cp), bins


def auto_method(ref, cur, numerical):
    n_values = len(set(ref.tolist()) | set(cur.tolist()))
    if len(ref) <= 1000:
        if numerical and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if numerical and n_values > 5:
        return "wasserstein"
    return "jensenshannon"


def run_method(method, ref, cur, numerical):
    """Returns dict(statistic, p_value, drifted[, bins]) or None when not applicable."""
    thr = DEFAULT_THRESHOLD[method]
    out = {}
    if method == "ks":
        if not numerical:
            return None
        r = stats.ks_2samp(ref, cur)  # method='auto'
        out = {"statistic": float(r.statistic), "p_value": float(r.pvalue),
               "drifted": bool(r.pvalue <= thr),
               "ks_mode": "exact" if max(len(ref), len(cur)) <= 10000 else "asymp"}
    elif method == "chisquare":
        keys = keys_of(ref, cur, numerical)
        if len(keys) < 2:
            return None
        f_exp = counts(ref, keys) * (len(cur) / len(ref))
        f_obs = counts(cur, keys)
        r = stats.chisquare(f_obs, f_exp)
        out = {"statistic": float(r.statistic), "p_value": float(r.pvalue),
               "drifted": bool(r.pvalue < thr)}
    elif method == "z":
        keys = keys_of(ref, cur, numerical)
        if len(keys) == 1:
            z, p = 0.0, 1.0
        else:
            # Evidently: indicator (value != first key), pooled proportion, two-sided.
            n1, n2 = len(ref), len(cur)
            p1 = float(sum(1 for v in ref.tolist() if v != keys[0])) / n1
            p2 = float(sum(1 for v in cur.tolist() if v != keys[0])) / n2
            P = (p1 * n1 + p2 * n2) / (n1 + n2)
            z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
            p = 2 * stats.norm.sf(abs(z))
        out = {"statistic": float(z), "p_value": float(p), "drifted": bool(p < thr)}
    elif method == "wasserstein":
        if not numerical:
            return None
        d = stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
        out = {"statistic": float(d), "p_value": None, "drifted": bool(d >= thr)}
    else:
        rp, cp, bins = binned(ref, cur, numerical)
        if method == "jensenshannon":
            v = distance.jensenshannon(rp, cp)
        elif method == "psi":
            v = np.sum((rp - cp) * np.log(rp / cp))
        else:
            v = stats.entropy(rp, cp)
        out = {"statistic": float(v), "p_value": None, "drifted": bool(v >= thr), "bins": bins}
    return out


def expected_columns(ref_cols, cur_cols, types):
    result = []
    for name, numerical in types:
        ref = clean(ref_cols[name], numerical)
        cur = clean(cur_cols[name], numerical)
        entry = {"name": name, "type": "numerical" if numerical else "categorical",
                 "reference_rows": int(len(ref)), "current_rows": int(len(cur)),
                 "auto_method": auto_method(ref, cur, numerical), "methods": {}}
        for m in METHODS:
            r = run_method(m, ref, cur, numerical)
            if r is not None:
                entry["methods"][m] = r
        result.append(entry)
    return result


def make_frame(rng, n, shift, with_specials):
    cols = {}
    cols["num_shift"] = rng.normal(shift, 1.0, n)
    cols["num_same"] = rng.normal(0.0, 1.0, n)
    cols["num_ties"] = np.round(rng.normal(shift * 0.5, 1.0, n), 1)
    cols["num_wide"] = rng.exponential(2.0 + shift, n)
    v = rng.normal(shift, 2.0, n)
    if with_specials:
        idx = rng.choice(n, size=max(3, n // 50), replace=False)
        v[idx[: len(idx) // 2]] = np.nan
        v[idx[len(idx) // 2:]] = np.inf
    cols["num_nan"] = v
    cols["num_small"] = rng.integers(0, 12 + int(shift > 0), n).astype(float)  # 12-13 values
    cols["num_3vals"] = rng.choice([1.0, 2.0, 3.0], n, p=[0.5 - shift * 0.2, 0.3, 0.2 + shift * 0.2])
    cols["num_binary"] = rng.choice([0.0, 1.0], n, p=[0.6 + shift * 0.1, 0.4 - shift * 0.1])
    cats = ["alpha", "beta", "gamma", "delta", "epsilon"]
    probs = np.array([0.3, 0.25, 0.2, 0.15, 0.1]) + np.array([-1, 0, 0, 0, 1]) * shift * 0.08
    cols["cat_multi"] = rng.choice(cats, n, p=probs / probs.sum())
    cols["cat_binary"] = rng.choice(["no", "yes"], n, p=[0.7 - shift * 0.1, 0.3 + shift * 0.1])
    c = rng.choice(["x", "y", "z"], n).astype(object)
    if shift > 0:
        c[: n // 20] = "new_value"  # a category unseen in the reference
    miss = rng.choice(n, size=n // 25, replace=False)
    c[miss] = ""
    cols["cat_new"] = c
    return cols


TYPES = [("num_shift", True), ("num_same", True), ("num_ties", True), ("num_wide", True),
         ("num_nan", True), ("num_small", True), ("num_3vals", True), ("num_binary", True),
         ("cat_multi", False), ("cat_binary", False), ("cat_new", False)]


def drift_cases():
    rng = np.random.default_rng(20260125)
    # (name, reference rows, current rows, shift): sizes straddle 1000 (method
    # switch) and 10000 (ks exact/asymp switch).
    specs = [("small", 400, 520, 0.35), ("nodrift", 300, 310, 0.0), ("ref1000", 1000, 1500, 0.15),
             ("ref1001", 1001, 900, 0.15), ("large", 3000, 2500, 0.3),
             ("ks_exact_10000", 700, 10000, 0.05), ("ks_asymp_10001", 700, 10001, 0.05),
             ("ks_asymp_tiny", 60, 12000, 0.25)]
    cases = []
    for name, n_ref, n_cur, shift in specs:
        ref = make_frame(rng, n_ref, 0.0, True)
        cur = make_frame(rng, n_cur, shift, True)
        columns = [t[0] for t in TYPES]
        write_csv(os.path.join(HERE, f"{name}_reference.csv"), columns,
                  zip(*[ref[c] for c in columns]))
        write_csv(os.path.join(HERE, f"{name}_current.csv"), columns,
                  zip(*[cur[c] for c in columns]))
        cols = expected_columns(ref, cur, TYPES)
        drifted = [c for c in cols if c["methods"][c["auto_method"]]["drifted"]]
        share = len(drifted) / len(cols)
        cases.append({"name": name, "reference": f"{name}_reference.csv",
                      "current": f"{name}_current.csv", "columns": cols,
                      "drifted_columns": len(drifted), "share_drifted": share,
                      "dataset_drift": share >= 0.5})
    return cases


def window_case():
    """Current data with a timestamp column; drift per time window and per row window."""
    rng = np.random.default_rng(7)
    n_ref, n_cur = 500, 900
    ref = {"value": rng.normal(0, 1, n_ref), "kind": rng.choice(["a", "b", "c"], n_ref)}
    start = datetime(2025, 3, 3, 5, 30, tzinfo=timezone.utc)
    # 900 rows over ~9 days, drifting progressively, written out of time order.
    seconds = np.sort(rng.uniform(0, 9 * 86400, n_cur))
    drift = seconds / (9 * 86400)
    cur = {"value": rng.normal(drift * 1.2, 1, n_cur),
           "kind": np.array([rng.choice(["a", "b", "c"], p=[0.34 - 0.3 * d, 0.33, 0.33 + 0.3 * d])
                             for d in drift])}
    stamps = [start + timedelta(seconds=float(s)) for s in seconds]
    order = rng.permutation(n_cur)
    write_csv(os.path.join(HERE, "window_reference.csv"), ["value", "kind"],
              zip(ref["value"], ref["kind"]))
    write_csv(os.path.join(HERE, "window_current.csv"), ["timestamp", "value", "kind"],
              [(stamps[i].strftime("%Y-%m-%dT%H:%M:%SZ"), cur["value"][i], cur["kind"][i])
               for i in order])
    types = [("value", True), ("kind", False)]

    def windows_for(groups):
        out = []
        for (lo, hi, idx) in groups:
            if len(idx) == 0:
                continue
            sub = {k: v[idx] for k, v in cur.items()}
            cols = expected_columns(ref, sub, types)
            drifted = sum(1 for c in cols if c["methods"][c["auto_method"]]["drifted"])
            out.append({"start": lo, "end": hi, "rows": int(len(idx)),
                        "share_drifted": drifted / len(cols), "columns": cols})
        return out

    # Time windows of 2 days aligned to UTC midnight of the first timestamp.
    t0 = int(stamps[0].timestamp()) // 86400 * 86400
    width = 2 * 86400
    secs = np.array([s.timestamp() for s in stamps])
    groups = []
    k = 0
    while t0 + k * width <= secs.max():
        lo, hi = t0 + k * width, t0 + (k + 1) * width
        idx = np.nonzero((secs >= lo) & (secs < hi))[0]
        iso = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        groups.append((iso(lo), iso(hi), idx))
        k += 1
    time_windows = windows_for(groups)
    # Row windows of 250 rows in timestamp order (the data is sorted by time here).
    row_groups = [(str(i), str(min(i + 250, n_cur)), np.arange(i, min(i + 250, n_cur)))
                  for i in range(0, n_cur, 250)]
    row_windows = windows_for(row_groups)
    return {"reference": "window_reference.csv", "current": "window_current.csv",
            "window_column": "timestamp", "time_window": "2d", "time_windows": time_windows,
            "row_window": "250", "row_windows": row_windows}


# ---- PII examples ------------------------------------------------------------

def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(prefix, length):
    for last in "0123456789":
        candidate = prefix + "0" * (length - len(prefix) - 1) + last
        if luhn_ok(candidate):
            return candidate
    raise AssertionError


def iban_ok(iban):
    s = iban.replace(" ", "")
    moved = s[4:] + s[:4]
    num = "".join(str(int(ch, 36)) for ch in moved)
    return int(num) % 97 == 1


def pii_examples():
    visa = luhn_complete("4111111111111", 16)
    amex = luhn_complete("37828224631", 15)
    mc = luhn_complete("555555555555", 16)
    assert luhn_ok(visa) and luhn_ok(amex) and luhn_ok(mc)
    bad_visa = visa[:-1] + str((int(visa[-1]) + 1) % 10)
    assert not luhn_ok(bad_visa)
    ibans = ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR1420041010050500013M02606",
             "NL91ABNA0417164300", "CH9300762011623852957"]
    assert all(iban_ok(i) for i in ibans)
    bad_ibans = ["GB82 WEST 1234 5698 7654 33", "DE8937040044053201300", "XX89370400440532013000",
                 "DE00370400440532013000"]
    assert not any(iban_ok(i) and len(i.replace(" ", "")) == 22 and i[:2] == "DE" for i in bad_ibans[1:2])
    assert not iban_ok(bad_ibans[0]) and not iban_ok(bad_ibans[3])
    return {
        "email": {"positive": ["alice@example.com", "bob.smith+tag@mail.co.uk", "x_y-z@sub.domain.org"],
                  "negative": ["alice@", "@example.com", "alice@example", "a..b@example.com",
                               "alice example.com", "alice@-example.com", "plain text"]},
        "phone": {"positive": ["+14155552671", "+44 20 7946 0958", "+1 (415) 555-2671",
                               "(415) 555-2671", "415-555-2671", "415.555.2671"],
                  "negative": ["12345", "+12", "2025-03-01", "4155552671", "1.5", "+1 555 12",
                               "123-45-6789"]},
        "credit_card": {"positive": [visa, amex, mc, " ".join(visa[i:i + 4] for i in range(0, 16, 4)),
                                     "-".join(visa[i:i + 4] for i in range(0, 16, 4))],
                        "negative": [bad_visa, "1234567890123", "4111 1111", "411111111111111111111",
                                     "abcd efgh ijkl mnop"]},
        "ipv4": {"positive": ["192.168.0.1", "10.0.0.255", "8.8.8.8", "0.0.0.0"],
                 "negative": ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "1.2.3.-4"]},
        "ipv6": {"positive": ["2001:db8::1", "::1", "fe80::1ff:fe23:4567:890a",
                              "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::ffff:192.0.2.128"],
                 "negative": ["2001:db8::1::2", "12:30", "gggg::1", "1:2:3:4:5:6:7:8:9", "10:30:00"]},
        "iban": {"positive": ibans, "negative": bad_ibans},
        "us_ssn": {"positive": ["123-45-6789", "078-05-1121", "899-99-9999"],
                   "negative": ["000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567",
                                "123-45-0000", "123456789", "12-345-6789"]},
    }


# ---- quality -------------------------------------------------------------------

def quality_case():
    rng = np.random.default_rng(99)
    n = 400
    rows = []
    for i in range(n):
        age = "" if i % 37 == 0 else str(int(rng.integers(18, 90)))
        income = "nan" if i % 53 == 0 else repr(round(float(rng.normal(50000, 12000)), 2))
        city = rng.choice(["paris", "lyon", "nice", ""], p=[0.5, 0.3, 0.15, 0.05])
        email = f"user{i}@example.com" if i % 4 else "n/a"
        card = luhn_complete("4111" + str(100000000 + i)[:9], 16) if i % 10 == 0 else ""
        const = "same"
        label = str(int(rng.integers(0, 3)))
        rows.append([age, income, city, email, card, const, label])
    rows += [list(rows[5]), list(rows[9]), list(rows[9])]  # 3 duplicate rows
    conflict = list(rows[20])
    conflict[-1] = str((int(conflict[-1]) + 1) % 3)
    rows.append(conflict)  # same features as row 20, different label
    header = ["age", "income", "city", "email", "card", "constant", "label"]
    write_csv(os.path.join(HERE, "quality_data.csv"), header, rows)
    # train/test split with 7 test rows copied from train
    train, test = rows[:300], rows[300:]
    test = test + [list(train[k]) for k in (1, 2, 3, 50, 60, 70, 80)]
    write_csv(os.path.join(HERE, "quality_train.csv"), header, train)
    write_csv(os.path.join(HERE, "quality_test.csv"), header, test)

    def num(v):
        if v == "" or v.lower() == "nan":
            return None
        return float(v)

    cols = []
    for c, name in enumerate(header):
        values = [r[c] for r in rows]
        numerical = name in ("age", "income", "card", "label")
        if numerical:
            parsed = [num(v) for v in values]
            present = [v for v in parsed if v is not None]
            entry = {"name": name, "type": "numerical", "missing": len(parsed) - len(present),
                     "unique": len(set(present)), "min": min(present), "max": max(present),
                     "mean": math.fsum(present) / len(present)}
        else:
            present = [v for v in values if v != ""]
            entry = {"name": name, "type": "categorical", "missing": len(values) - len(present),
                     "unique": len(set(present))}
        entry["missing_share"] = entry["missing"] / len(rows)
        entry["constant"] = entry["unique"] <= 1
        cols.append(entry)
    norm = lambda r: tuple("" if (v.lower() == "nan") else (repr(float(v)) if _isnum(v) else v)
                           for v in r)
    seen, dups = set(), 0
    for r in rows:
        k = norm(r)
        dups += k in seen
        seen.add(k)
    balance = {}
    for r in rows:
        balance[r[-1]] = balance.get(r[-1], 0) + 1
    by_features = {}
    for r in rows:
        by_features.setdefault(norm(r[:-1]), set()).add(r[-1])
    conflict_groups = sum(1 for s in by_features.values() if len(s) > 1)
    conflict_rows = sum(1 for r in rows if len(by_features[norm(r[:-1])]) > 1)
    train_keys = {norm(r[:-1]) for r in train}
    leaked = sum(1 for r in test if norm(r[:-1]) in train_keys)
    emails = sum(1 for r in rows if "@" in r[3])
    cards = sum(1 for r in rows if r[4] != "")
    return {"data": "quality_data.csv", "train": "quality_train.csv", "test": "quality_test.csv",
            "label": "label", "rows": len(rows), "columns": cols, "duplicate_rows": dups,
            "class_balance": [{"label": k, "count": v} for k, v in sorted(balance.items())],
            "label_conflicts": {"groups": conflict_groups, "rows": conflict_rows},
            "leakage": {"test_rows_in_train": leaked, "test_rows": len(test),
                        "share": leaked / len(test)},
            "pii": {"email": emails / sum(1 for r in rows if r[3] != ""),
                    "credit_card": cards / cards}}


def _isnum(v):
    try:
        float(v)
        return True
    except ValueError:
        return False


def stats_cases():
    """Direct checks of the distributions behind the p-values."""
    kstwo = [{"n": n, "d": d, "sf": float(stats.kstwo.sf(d, n))}
             for n in [1, 2, 5, 10, 50, 100, 140, 141, 200, 500, 1000, 5000, 100000, 200000]
             for d in [0.001, 0.01, 0.03, 0.05, 0.08, 0.1, 0.2, 0.3, 0.45, 0.5, 0.7, 0.95]]
    chi2 = [{"x": x, "df": df, "sf": float(stats.chi2.sf(x, df))}
            for df in [1, 2, 3, 4, 9, 30, 99, 500] for x in [0.01, 0.5, 1, 2.5, 5, 10, 30, 100, 600, 1000]]
    norm = [{"z": z, "p": float(2 * stats.norm.sf(abs(z)))} for z in [0, 0.1, -1.3, 1.96, 3.5, -6, 9]]
    rng = np.random.default_rng(3)
    ks = []
    for n1, n2, shift in [(7, 9, 0.0), (50, 50, 0.4), (100, 80, 0.2), (37, 1000, 0.1), (1000, 999, 0.05),
                          (2000, 2000, 0.05), (10000, 9999, 0.03), (300, 10001, 0.1), (5, 12000, 0.5),
                          (130, 15000, 0.2), (60, 40000, 0.05), (1, 10, 2.0)]:
        a = np.round(rng.normal(0, 1, n1), 2)
        b = np.round(rng.normal(shift, 1, n2), 2)
        r = stats.ks_2samp(a, b)
        ks.append({"n1": n1, "n2": n2, "seed_shift": shift, "a": a.tolist(), "b": b.tolist(),
                   "statistic": float(r.statistic), "p_value": float(r.pvalue),
                   "wasserstein": float(stats.wasserstein_distance(a, b))})
    return {"kstwo": kstwo, "chi2": chi2, "normal": norm, "ks": ks}


def finite_json(v):
    """JSON has no inf/nan: write them as the strings "inf", "-inf", "nan"."""
    if isinstance(v, float) and not math.isfinite(v):
        return fmt(v)
    if isinstance(v, dict):
        return {k: finite_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [finite_json(x) for x in v]
    return v


def main():
    out = {"drift": drift_cases(), "windows": window_case(), "quality": quality_case(),
           "pii": pii_examples()}
    with open(os.path.join(HERE, "expected_drift.json"), "w") as f:
        json.dump(finite_json(out), f, indent=1, allow_nan=False)
    with open(os.path.join(HERE, "expected_stats.json"), "w") as f:
        json.dump(stats_cases(), f, allow_nan=False)


if __name__ == "__main__":
    main()
