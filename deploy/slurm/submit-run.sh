#!/usr/bin/env bash
# Runs a scenario in N parts on Slurm (array tasks K = 1..N, `offersim run --part K/N` into
# WORK/parts/K), then merges them into OUT when every part succeeded. Prints the merge job's id.
#   deploy/slurm/submit-run.sh scenarios/black_friday_xl.toml 8 WORK OUT [sbatch options...]
# N is at most the scenario's `[population] shards`; paths may be relative to here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scenario=$(realpath "${1:?usage: submit-run.sh SCENARIO N WORK OUT [sbatch options...]}")
n=${2:?usage: submit-run.sh SCENARIO N WORK OUT}
mkdir -p "${3:?usage: submit-run.sh SCENARIO N WORK OUT}"
work=$(cd "$3" && pwd)
out=$(realpath -m "${4:?usage: submit-run.sh SCENARIO N WORK OUT}")
shift 4
parts=$(sbatch --parsable --array="1-$n" --chdir="$work" "$@" "$here/run-part.sbatch" "$scenario")
sbatch --parsable --dependency="afterok:${parts%%;*}" --chdir="$work" "$@" "$here/merge.sbatch" "$out"
