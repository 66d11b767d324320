#!/usr/bin/env bash
# Submits deploy/slurm/minif2f.sbatch after creating the directories it
# writes into: Slurm opens a job's --output file before the job starts, so
# its directory must exist at submission. Options pass through to sbatch:
#
#   deploy/slurm/submit.sh --array=0-7 --partition=gpu
#   RESULTS=/scratch/me/run1 MODEL=EleutherAI/llemma_34b deploy/slurm/submit.sh
#
# The job sees RESULTS as an absolute path (and the rest of the
# environment: sbatch exports it by default).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RESULTS=${RESULTS:-results}
mkdir -p "$RESULTS/logs"
RESULTS=$(cd "$RESULTS" && pwd)
export RESULTS
exec "${SBATCH:-sbatch}" --output="$RESULTS/logs/slurm-%A_%a.log" "$@" "$here/minif2f.sbatch"
