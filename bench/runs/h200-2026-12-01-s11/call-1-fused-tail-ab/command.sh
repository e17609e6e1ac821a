set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in a x; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
S2="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-x; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1)
(cd bench-x; python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
for t in 1 2; do for x in a x; do (cd bench-$x; node bench.mjs $S $D --out $R/$x-$t.json > $R/$x-$t.txt 2>&1); done; done
(cd bench-x; node bench.mjs $S2 $D --fused-tail off --out $R/x-split-tail.json > $R/x-split-tail.txt 2>&1)
(cd bench-x; node bench.mjs $S2 $D --error-scopes submit --out $R/x-scopes-submit.json > $R/x-scopes-submit.txt 2>&1)
(cd bench-x; node bench.mjs $S2 $D --out $R/x-3.json > $R/x-3.txt 2>&1)
for t in 1 2; do for x in a x; do (cd bench-$x; node bench.mjs $G --out $R/gpt2-$x-$t.json > $R/gpt2-$x-$t.txt 2>&1); done; done
(cd bench-x; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
cd $R
{ for f in a-1 x-1 a-2 x-2 x-split-tail x-scopes-submit x-3 gpt2-a-1 gpt2-x-1 gpt2-a-2 gpt2-x-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; grep -h -A1 "sweep R=8 " $f.txt | grep host; done
  echo "== peer-lab"; grep -E "graph|diff|Error|@0.005" peer-lab.txt; echo "== peer-gpt2"; grep -E "graph|Error" peer-gpt2.txt
  echo "== breakdown"; grep -E "@0.005|FAILED|Error|sweep R=|Attention|between|→|optimizerFused|lossGuard" breakdown.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
