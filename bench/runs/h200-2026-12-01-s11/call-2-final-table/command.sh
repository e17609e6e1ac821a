set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in a y; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
S2="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-y; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1)
(cd bench-y; python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
for t in 1 2; do for x in a y; do (cd bench-$x; node bench.mjs $S $D --out $R/$x-$t.json > $R/$x-$t.txt 2>&1); done; done
(cd bench-y; node bench.mjs $S2 $D --fused-tail off --out $R/y-split-tail.json > $R/y-split-tail.txt 2>&1)
(cd bench-y; node bench.mjs $S2 $D --driver --driver-steps 300 --out $R/y-driver.json > $R/y-driver.txt 2>&1)
for t in 1 2; do for x in a y; do (cd bench-$x; node bench.mjs $G --out $R/gpt2-$x-$t.json > $R/gpt2-$x-$t.txt 2>&1); done; done
(cd bench-y; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
cd $R
{ for f in a-1 y-1 a-2 y-2 y-split-tail y-driver gpt2-a-1 gpt2-y-1 gpt2-a-2 gpt2-y-2; do echo "== $f"; grep -E "sweep R=|driver|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; grep -h -A1 "sweep R=8 " $f.txt | grep host; done
  echo "== peer-lab"; grep -E "graph|diff|Error|@0.005" peer-lab.txt; echo "== peer-gpt2"; grep -E "graph|Error" peer-gpt2.txt
  echo "== breakdown"; grep -E "@0.005|FAILED|Error|sweep R=|Attention|between|→" breakdown.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
