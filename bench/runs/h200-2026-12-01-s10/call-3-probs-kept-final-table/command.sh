set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in c e; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-e; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1)
(cd bench-e; python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
for t in 1 2; do (cd bench-e; node bench.mjs $S $D --out $R/e-$t.json > $R/e-$t.txt 2>&1); done
for t in 1 2; do for x in c e; do (cd bench-$x; node bench.mjs $G --out $R/gpt2-$x-$t.json > $R/gpt2-$x-$t.txt 2>&1); done; done
(cd bench-e; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
for tl in v4:16,16,32 v4:16,8,16; do n=${tl//[:,]/-}
  (cd bench-e; node bench.mjs --sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8 $D --attention-tiles $tl --out $R/tiles-$n.json > $R/tiles-$n.txt 2>&1)
  (cd bench-e; node bench.mjs $G --attention-tiles $tl --out $R/gpt2-tiles-$n.json > $R/gpt2-tiles-$n.txt 2>&1); done
(cd bench-e; node bench.mjs --sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8 $D --out $R/tiles-default.json > $R/tiles-default.txt 2>&1)
(cd bench-e; node bench.mjs --sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8 $D --driver --driver-steps 300 --out $R/driver.json > $R/driver.txt 2>&1)
(cd bench-c; node --trace-gc bench.mjs --sweep-only --steps 120 --trials 5 --warmup 10 --rs 8 $D --out $R/gc.json > $R/gc.txt 2>&1)
cd $R
{ for f in e-1 e-2 tiles-default tiles-v4-16-16-32 tiles-v4-16-8-16 gpt2-c-1 gpt2-e-1 gpt2-c-2 gpt2-e-2 gpt2-tiles-v4-16-16-32 gpt2-tiles-v4-16-8-16 driver; do echo "== $f"; grep -E "sweep R=|driver|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; grep -h -A1 "sweep R=8 " $f.txt | grep host; done
  echo "== peer-lab"; grep -E "graph|diff|Error" peer-lab.txt; echo "== peer-gpt2"; grep -E "graph|Error" peer-gpt2.txt
  echo "== gc"; grep -cE "Scavenge|Mark-Compact|Mark-sweep" gc.txt; grep -E "Mark-Compact|Mark-sweep" gc.txt | head -5; grep -E "host|sweep R=8" gc.txt
  echo "== breakdown"; grep -E "@0.005|FAILED|Error|sweep R=|Attention|between|→" breakdown.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
