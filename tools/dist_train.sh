#!/usr/bin/env bash
# Distributed training: tools/dist_train.sh CONFIG NPROC [train.py options]
# With CUDA each process takes one GPU (nccl); without CUDA the processes train on the CPU
# (gloo), which tools/train.py sets up itself. The Python is $PYTHON, else the checkout's
# .venv (what `make` installs), else python3 on the PATH.
set -euo pipefail
usage() {
  echo "usage: $0 CONFIG NPROC [train.py options]   (NPROC: processes, one per GPU)" >&2
  echo "environment: PYTHON, NNODES, NODE_RANK, PORT, MASTER_ADDR" >&2
}
if [[ $# -lt 2 || "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  usage
  [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && exit 0 || exit 2
fi
CONFIG=$1
GPUS=$2
if ! [[ "$GPUS" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: NPROC must be a positive number, got '$GPUS'" >&2
  usage
  exit 2
fi
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
cd "$ROOT"
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    tools/train.py "$CONFIG" --launcher pytorch "${@:3}"
