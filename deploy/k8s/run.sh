#!/usr/bin/env bash
# Starts a miniF2F run on Kubernetes: the model server (vllm.yaml), then the
# Job (minif2f-job.yaml), then makes the Job the owner of the server's
# Deployment and Service. Kubernetes deletes owned objects with their owner,
# so the server and its GPU go when the Job does: by hand
# (kubectl delete job llemma-minif2f), or by its ttlSecondsAfterFinished
# once every shard has succeeded or failed. A Job of the same name from an
# earlier run is deleted first, with what it owns.
#
#   deploy/k8s/run.sh                      # in the current namespace
#   NAMESPACE=prover deploy/k8s/run.sh
#   kubectl get pods -l app=llemma-minif2f -w
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
KUBECTL=${KUBECTL:-kubectl}
JOB=llemma-minif2f
kc() { "$KUBECTL" ${NAMESPACE:+--namespace "$NAMESPACE"} "$@"; }

kc delete job "$JOB" --ignore-not-found --cascade=foreground --wait=true
kc apply -f "$here/vllm.yaml"
kc create -f "$here/minif2f-job.yaml"
uid=$(kc get job "$JOB" -o jsonpath='{.metadata.uid}')
[[ -n $uid ]] || { echo "run.sh: no uid for job $JOB" >&2; exit 1; }
owner=$(printf '{"metadata":{"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"%s","uid":"%s"}]}}' "$JOB" "$uid")
for obj in deployment/llemma-vllm service/llemma-vllm; do
  kc patch "$obj" --type=merge -p "$owner"
done
echo "run.sh: job $JOB ($uid) owns the model server; follow it with: $KUBECTL get pods -l app=$JOB -w" >&2
