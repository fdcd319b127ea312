#!/bin/sh
# Writes the project's own synthetic traces (the CSV format of src/scenario/trace.h) beside this
# script. Deterministic for a seed: the noise comes from a seeded Park-Miller generator written in
# awk, not from awk's rand(), whose sequence differs from one awk to another.
#
#   sh scenarios/traces/generate.sh [SEED]        SEED: a whole number, default 1
#
# diurnal-day.csv  24 hours at 1-minute rows (1440 rows), averaging about 1,000 requests/s: a
#                  night floor near 300, a morning ramp from 06:30 to 09:00 up to about 1,100, a
#                  lunch bump, an evening peak around 2,500 at about 20:15, the fall back to the
#                  night after 22:00, noise of a few percent (smooth and white), and one short
#                  spike: about +1,700 requests/s for 4 minutes from 15:10.
# burst-5m.csv     5 minutes at 1-second rows (300 rows) for quick live runs: about 40
#                  requests/s, a climb from 1:00 to 1:20 to about 240, held to 2:30, a decay back
#                  to about 40 by 3:20, and a few percent of noise.
#
# The checked-in files were made with seed 1.
set -eu

seed=${1:-1}
case $seed in
  '' | *[!0-9]*) echo "generate.sh: the seed must be a whole number, got '$seed'" >&2; exit 2 ;;
esac
dir=$(dirname "$0")

# Shared awk: the seeded generator, uniform in (0, 1) and standard normal (Box-Muller).
prng='
function seed_rng(s) { state = (s % 2147483646) + 1 }
function uniform() { state = (state * 16807) % 2147483647; return state / 2147483647 }
function normal(   u, v) {
  u = uniform(); v = uniform()
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v)
}
function logistic(x) { return 1 / (1 + exp(-x)) }
function bump(x, centre, width) { return exp(-((x - centre) / width) ^ 2) }
'

awk -v seed="$seed" "$prng"'
BEGIN {
  seed_rng(seed)
  print "t_seconds,rps"
  smooth = 0
  for (minute = 0; minute < 1440; minute++) {
    h = minute / 60
    day = logistic((h - 7.75) / 0.55) * (1 - logistic((h - 22.5) / 0.6))
    rate = 300 + 800 * day + 150 * bump(h, 12.5, 0.8) + 1400 * bump(h, 20.25, 1.9)
    # Noise: an AR(1) drift (about 3%, correlated over minutes) and white noise (about 1.5%).
    smooth = 0.85 * smooth + 0.03 * sqrt(1 - 0.85 ^ 2) * normal()
    rate *= 1 + smooth + 0.015 * normal()
    # The spike: 15:10 to 15:14, a one-minute rise, two minutes high, a one-minute fall.
    if (minute >= 910 && minute < 914) rate += 1700 * (minute == 910 || minute == 913 ? 0.5 : 1)
    if (rate < 0) rate = 0
    printf "%d,%.2f\n", minute * 60, rate
  }
}' > "$dir/diurnal-day.csv"

awk -v seed="$seed" "$prng"'
BEGIN {
  seed_rng(seed + 1000003)
  print "t_seconds,rps"
  for (t = 0; t < 300; t++) {
    if (t < 60) rate = 40
    else if (t < 80) rate = 40 + 200 * (t - 60) / 20
    else if (t < 150) rate = 240
    else rate = 40 + 200 * exp(-(t - 150) / 15)
    rate *= 1 + 0.04 * normal()
    if (rate < 0) rate = 0
    printf "%d,%.2f\n", t, rate
  }
}' > "$dir/burst-5m.csv"
