#!/usr/bin/env bash
# GPU acceptance check of issue 3, as one prepared run (about 3-4 minutes on an H100/H200 host):
#   1. the CLI trains circles (isotropic) on CUDA with a 5 s budget and prints its card;
#   2. the same under torchrun on every visible GPU (NCCL), if there is more than one;
#   3. bench/train_quality.py on CUDA: budgets 2.5 and 5 s at batch 1024 and at batch 8192 (a small
#      network is launch-bound on a GPU, so a larger batch costs little extra time per step), with the
#      iid floor, the exact empirical flow, the released-recipe baseline, the 20,000-point comparison,
#      and circles reduced to 1 dimension.
# It installs nothing: it needs a CUDA build of torch (>= 2.10), torchdiffeq, safetensors, scikit-learn,
# pandas and tqdm already present, as the lent H200 image has them (its interpreter is python3; set
# PYTHON to use another). On the device tool: `bash bench/gpu_check.sh 2>&1 | tee $OUT/gpu_check.log`.
# Paste the output into bench/RESULTS.md. Rehearse it without a GPU (same steps, CPU timings):
# `GPU_CHECK_DEVICE=cpu bash bench/gpu_check.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
"$PY" - "$DEVICE" <<'PY'
import sys, torch
if sys.argv[1] == "cuda":
    assert torch.cuda.is_available(), "needs a CUDA GPU and a CUDA build of torch"
    print("torch", torch.__version__, "on", torch.cuda.get_device_name(), "x", torch.cuda.device_count())
else:
    print("rehearsal on", sys.argv[1], "with torch", torch.__version__)
PY
date -u; uptime
out=$(mktemp -d)
"$PY" -m inflow_core train --dataset circles --schedule isotropic --device "$DEVICE" --seconds 5 \
    --out "$out/circles_cuda_5s.safetensors"
"$PY" - "$out/circles_cuda_5s.safetensors" <<'PY'
import json, sys
import inflow_core as ic
print(json.dumps(ic.load_flow(sys.argv[1]).card["training"], indent=1))
PY
gpus=$("$PY" -c "import torch; print(torch.cuda.device_count())")  # 0 on a rehearsal
if [ "$gpus" -gt 1 ]; then
    torchrun --standalone --nproc_per_node="$gpus" -m inflow_core train --dataset circles --device cuda \
        --seconds 5 --batch-size $((1024 * gpus)) --out "$out/circles_ddp.safetensors"
fi
"$PY" -m pytest -q -m gpu tests/core
for batch in 1024 8192; do
    "$PY" bench/train_quality.py --device "$DEVICE" --budgets 2.5 5 --main 5 --batch-size "$batch"
done
