#!/usr/bin/env bash
# Runs a sweep plan on Slurm: one array task per line of DIR/jobs.txt, then a collect job that
# starts when every task succeeded. Prints the collect job's id.
#   offersim sweep scenarios/cafe.toml --set offers.cafe_2_over_5.reward=2,3 --seeds 20 --plan DIR
#   deploy/slurm/submit-sweep.sh DIR [sbatch options...]
# The tasks call "${OFFERSIM:-offersim}": put the binary on PATH or export OFFERSIM. The sweep's
# files go to $OFFERSIM_COLLECT_OUT, else DIR (as `offersim sweep ... --out` that path would).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "${1:?usage: submit-sweep.sh DIR [sbatch options...]}" && pwd)
shift
n=$(wc -l < "$dir/jobs.txt")
[ "$n" -ge 1 ] || { echo "$dir/jobs.txt is empty" >&2; exit 2; }
runs=$(sbatch --parsable --array="1-$n" --chdir="$dir" "$@" "$here/sweep.sbatch")
sbatch --parsable --dependency="afterok:${runs%%;*}" --chdir="$dir" "$@" "$here/collect-sweep.sbatch" \
  "${OFFERSIM_COLLECT_OUT:-$dir}"
