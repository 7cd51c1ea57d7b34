#!/usr/bin/env bash
. /work/venv/bin/activate
cd /work/main
export SDL_VIDEODRIVER=dummy MPLBACKEND=Agg
python -c "while True: pass" &
BUSY=$!
echo "busy loop pid $BUSY, start $(date)"
/usr/bin/time -f "real %e s" hrm-mazes demo --out /work/runs/demo-busy --no-progress
echo "end $(date)"
kill $BUSY
