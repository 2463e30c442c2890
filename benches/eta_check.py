#!/usr/bin/env python3
"""Reads a `script -T` recording of an offersim run's progress bar and prints, from 10% done on,
how far the bar's ETA was from the time that actually remained, beside what the steady estimate
(elapsed in the phase x (1 - f) / f, `src/progress.rs`) says at the same frames.

    script -q -T eta.timing -c "stty cols 160; offersim run scenarios/black_friday_xl.toml \
        --threads 2 --out /tmp/xl" eta.typescript
    python3 benches/eta_check.py eta.typescript eta.timing
"""
import re, sys

def duration(s):
    total = 0.0
    for n, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([hms])", s):
        total += float(n) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total

typescript, timing = sys.argv[1], sys.argv[2]
data = open(typescript, "rb").read()
t, offset, frames = 0.0, 0, []
# Skip script's header line ("Script started on ...") if present.
if data.startswith(b"Script started"):
    offset = data.index(b"\n") + 1
for line in open(timing):
    parts = line.split()
    if len(parts) != 2:
        continue
    delay, n = float(parts[0]), int(parts[1])
    t += delay
    chunk = data[offset:offset + n].decode("utf-8", "replace")
    offset += n
    for pos, total, eta in re.findall(r"([\d,]+)/([\d,]+) eta ((?:\d+[hms]\s*)+)", chunk):
        p, tot = int(pos.replace(",", "")), int(total.replace(",", ""))
        if tot:
            frames.append((t, p / tot, duration(eta)))
end = t
# What `steady_eta` (elapsed in the phase x (1 - f) / f) says at the same frames; the phase
# starts at the first frame.
start = frames[0][0] if frames else 0.0
worst_steady = 0.0
worst = 0.0
rows = []
# Frames whose shown ETA is off by more than 20%: how many, how early the first is, and how far
# off they are in seconds (in the last seconds of a run a second is a large share).
off, first_off_left, worst_off_secs, counted = 0, None, 0.0, 0
last_f = None
for (at, f, eta) in frames:
    if f < 0.10 or f >= 1.0:
        continue
    remaining = end - at
    if remaining <= 0:
        continue
    err = (eta - remaining) / remaining
    worst = max(worst, abs(err))
    counted += 1
    if abs(err) > 0.20:
        off += 1
        first_off_left = remaining if first_off_left is None else first_off_left
        worst_off_secs = max(worst_off_secs, abs(eta - remaining))
    steady = (at - start) * (1 - f) / f
    serr = (steady - remaining) / remaining
    worst_steady = max(worst_steady, abs(serr))
    if last_f is None or f - last_f >= 0.05:
        rows.append((at, f, eta, remaining, err, steady, serr))
        last_f = f
print(f"run took {end:.0f} s; {len(frames)} frames")
print(f"{'t (s)':>7} {'done':>6} {'left (s)':>9} {'eta shown':>9} {'error':>7} {'steady':>7} {'error':>7}")
for at, f, eta, rem, err, steady, serr in rows:
    print(f"{at:7.0f} {f:6.1%} {rem:9.0f} {eta:9.0f} {err:+7.1%} {steady:7.0f} {serr:+7.1%}")
print(f"worst error from 10% done: shown {worst:.1%}, steady {worst_steady:.1%}")
if off:
    print(f"frames off by more than 20%: {off} of {counted}, the first with {first_off_left:.0f} s left; "
          f"at most {worst_off_secs:.0f} s off")
else:
    print(f"frames off by more than 20%: none of {counted}")
