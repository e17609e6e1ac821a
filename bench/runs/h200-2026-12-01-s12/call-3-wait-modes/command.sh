set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in e; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"
S="--sweep-only --steps 120 --trials 8 --warmup 10 --rs 8 --trial-stamps"
DR="--sweep-only --steps 120 --trials 3 --warmup 10 --rs 1,8 --driver --driver-steps 300"
(cd bench-e; node --trace-gc bench.mjs $S $D --out $R/e-poll.json > $R/e-poll.txt 2>&1)
(cd bench-e; LAB_WAIT=gc node --trace-gc --expose-gc bench.mjs $S $D --out $R/e-gcfirst.json > $R/e-gcfirst.txt 2>&1)
(cd bench-e; LAB_WAIT=sleep LAB_SLEEP=4.2 node --trace-gc bench.mjs $S $D --out $R/e-sleep.json > $R/e-sleep.txt 2>&1)
for t in 1 2; do
(cd bench-e; node bench.mjs $DR $D --driver-in-flight 3 --out $R/e-drv3-$t.json > $R/e-drv3-$t.txt 2>&1)
(cd bench-e; node bench.mjs $DR $D --out $R/e-drv-$t.json > $R/e-drv-$t.txt 2>&1)
done
cd $R
{ for f in e-poll e-gcfirst e-sleep; do echo "== $f"; grep -E "trial [0-9]" $f.txt | python3 -c "
import sys,re
for l in sys.stdin:
    m=re.search(r'trial (\d+) \(([\d.]+)–([\d.]+) ms, GPU done at ([\d.]+)\): wall ([\d.]+) ms/step, GPU span ([\d.]+)',l)
    n,t0,t3,t2,w,s=m.groups(); t0,t3,t2,s=float(t0),float(t3),float(t2),float(s)
    print(f'trial {n}: wall {w}, span {s}, start gap {t2-t0-120*s:6.1f} ms, end gap {t3-t2:5.1f} ms')
"; grep -E "sweep R=|host" $f.txt; echo "gc lines: $(grep -cE 'Scavenge|Mark-Compact' $f.txt)"; done
for f in e-drv3-1 e-drv-1 e-drv3-2 e-drv-2; do echo "== $f"; grep -E "sweep R=|CLI's loop|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; } > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
