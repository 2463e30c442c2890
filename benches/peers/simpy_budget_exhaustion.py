#!/usr/bin/env python3
"""A plain, straightforward SimPy implementation of scenarios/budget_exhaustion.toml, for
comparing offersim's speed with a general-purpose discrete-event library (benches/README.md).

Same model, written the obvious way: one SimPy process per user (exposures, clicks, card
entry, enrollment, Poisson purchases thinned by the merchants' hourly profiles, uplift while
enrolled), one process per purchase for the card network (authorization, clearing after a
triangular delay or a reversal, sometimes a refund), and the platform's matching, per-card
caps, budgets, fees and clawbacks on shared dictionaries. Random numbers come from Python's
`random` (so figures differ from offersim's, statistically alike).

    pip install simpy
    python3 benches/peers/simpy_budget_exhaustion.py [USERS]        # default 6000

Prints wall time, events processed (SimPy events popped) and the main counts.
"""
import math
import random
import sys
import time

import simpy

DAY, HOUR = 86_400, 3_600
DAYS, SETTLE = 7, 10
LUNCH_EVENING = [0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.8, 0.9, 1.0, 1.8,
                 2.2, 1.6, 1.0, 0.9, 1.0, 1.6, 2.2, 2.0, 1.4, 0.8, 0.4, 0.2]
DAYTIME = [0.05] * 7 + [0.6, 1.2, 1.6, 1.8, 1.9, 2.0, 2.0, 1.9, 1.8, 1.7, 1.5, 1.0] + [0.3] * 5
MERCHANTS = [  # name, weight (popularity x Zipf), profile, basket median, sigma
    ("slice_society", 4.0, LUNCH_EVENING, 24.0, 0.4),
    ("market", 0.5, DAYTIME, 30.0, 0.6),
]
OFFERS = [  # merchant, reward (fixed or percent), cap, min spend, per-card cap, budget, hours shown, impressions/day
    dict(merchant=0, fixed=500, percent=None, cap=None, min_spend=2_000, per_card=2, budget=60_000, hours=(0, 24), ipd=2.0, uplift=0.2),
    dict(merchant=0, fixed=None, percent=20, cap=800, min_spend=1_000, per_card=1, budget=30_000, hours=(17, 21), ipd=1.0, uplift=0.15),
]
FEE_PERCENT = 10
PEAK = max(max(LUNCH_EVENING), max(DAYTIME))


class Platform:
    def __init__(self):
        self.enrolled = {}       # card -> {offer: since}
        self.redeemed = {}       # (card, offer) -> count
        self.budget = [o["budget"] for o in OFFERS]
        self.credits = {}        # purchase -> (offer, reward, fee)
        self.ledger = {"merchant": 0, "cardholders": 0, "fees": 0}
        self.counts = dict(purchases=0, clearings=0, credits=0, declined_budget=0, clawbacks=0, enrollments=0)

    def clearing(self, pid, card, merchant, bought_at, amount):
        self.counts["clearings"] += 1
        best = None
        for offer, since in self.enrolled.get(card, {}).items():
            o = OFFERS[offer]
            if o["merchant"] != merchant or since > bought_at or amount < o["min_spend"]:
                continue
            if o["fixed"] is not None:
                reward = o["fixed"]
            else:
                reward = min(round(amount * o["percent"] / 100), o["cap"])
            if self.redeemed.get((card, offer), 0) >= o["per_card"]:
                continue
            if self.budget[offer] < reward:
                self.counts["declined_budget"] += 1
                continue
            if best is None or reward > best[1]:
                best = (offer, reward)
        if best:
            offer, reward = best
            fee = round(reward * FEE_PERCENT / 100)
            self.budget[offer] -= reward
            self.redeemed[(card, offer)] = self.redeemed.get((card, offer), 0) + 1
            self.credits[pid] = (offer, reward, fee)
            self.ledger["merchant"] -= reward + fee
            self.ledger["cardholders"] += reward
            self.ledger["fees"] += fee
            self.counts["credits"] += 1

    def refund(self, pid):
        c = self.credits.pop(pid, None)
        if c:
            _, reward, fee = c
            self.ledger["merchant"] += reward + fee
            self.ledger["cardholders"] -= reward
            self.ledger["fees"] -= fee
            self.counts["clawbacks"] += 1


def network(env, platform, pid, card, merchant, amount):
    bought_at = env.now
    yield env.timeout(random.uniform(1, 5))  # authorization
    if random.random() < 0.02:
        yield env.timeout(random.uniform(1, 24) * HOUR)  # reversal: never clears
        return
    delay = random.triangular(24, 72, 48) * HOUR - (env.now - bought_at)
    yield env.timeout(max(delay, 0))
    platform.clearing(pid, card, merchant, bought_at, amount)
    if random.random() < 0.03:
        yield env.timeout(random.triangular(2, 30, 7) * DAY)
        platform.refund(pid)


def purchase(env, platform, user, cards, seq, merchant_index=None):
    if merchant_index is None:
        weights = [m[1] * m[2][int(env.now % DAY) // HOUR] for m in MERCHANTS]
        merchant_index = random.choices(range(len(MERCHANTS)), weights)[0]
    _, _, _, median, sigma = MERCHANTS[merchant_index]
    amount = int(round(100 * median * math.exp(sigma * random.gauss(0, 1))))
    card = random.choice(cards)
    platform.counts["purchases"] += 1
    env.process(network(env, platform, (user, seq), card, merchant_index, amount))


def shopper(env, platform, user, cards, rate_per_day, only=None):
    """Poisson purchases thinned by the hourly profiles (or at one merchant for uplift)."""
    seq = 0
    end = DAYS * DAY
    while True:
        yield env.timeout(random.expovariate(rate_per_day * PEAK / DAY))
        if env.now >= end:
            return
        hour = int(env.now % DAY) // HOUR
        if only is None:
            accept = sum(m[1] * m[2][hour] for m in MERCHANTS) / (sum(m[1] for m in MERCHANTS) * PEAK)
        else:
            accept = MERCHANTS[only][2][hour] / PEAK
        if random.random() < accept:
            seq += 1
            purchase(env, platform, user, cards, seq, only)


def user(env, platform, u):
    cards = [(u, 0)] + ([(u, 1)] if random.random() < 0.3 else [])
    env.process(shopper(env, platform, u, cards, 0.5))
    if random.random() >= 0.7:  # no #pizza: never targeted
        return
    for offer, o in enumerate(OFFERS):
        env.process(exposures(env, platform, u, cards, offer, o))
    yield env.timeout(0)


def exposures(env, platform, u, cards, offer, o):
    lo, hi = o["hours"]
    rate = o["ipd"] / ((hi - lo) * HOUR)
    t = 0.0
    while True:
        t += random.expovariate(rate)
        day, rest = divmod(t, (hi - lo) * HOUR)
        if day >= DAYS:
            return
        at = day * DAY + lo * HOUR + rest
        yield env.timeout(at - env.now)
        if random.random() < 0.15:  # click "Get offer"
            card = cards[0]
            if card not in platform.enrolled and random.random() >= 0.75:
                continue  # abandoned the first card entry
            platform.enrolled.setdefault(card, {})[offer] = env.now
            platform.counts["enrollments"] += 1
            env.process(shopper(env, platform, u, cards, 0.5 * o["uplift"], only=o["merchant"]))
            return


def main():
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 6_000
    random.seed(7)
    env = simpy.Environment()
    platform = Platform()
    for u in range(users):
        env.process(user(env, platform, u))
    events = 0
    t0 = time.perf_counter()
    horizon = (DAYS + SETTLE) * DAY
    while env.peek() < horizon:
        env.step()
        events += 1
    wall = time.perf_counter() - t0
    assert sum(platform.ledger.values()) == 0, "ledger out of balance"
    print(f"simpy budget_exhaustion: {users} users, {wall:.2f} s, {events:,} events, {events / wall:,.0f} events/s")
    print(platform.counts, "budgets left", platform.budget)


if __name__ == "__main__":
    main()
