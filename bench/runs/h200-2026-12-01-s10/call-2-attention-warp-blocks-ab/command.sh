set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in c d; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-d; node bench.mjs attention-check --shape 64,128,4,64 --variant all > $R/check.txt 2>&1; node bench.mjs attention-check --shape 8,256,12,64 --variant all >> $R/check.txt 2>&1)
(cd bench-d; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown-d.json > $R/breakdown-d.txt 2>&1)
(cd bench-d; python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown-d.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
for t in 1 2; do for x in c d; do (cd bench-$x; node bench.mjs $S $D --out $R/$x-$t.json > $R/$x-$t.txt 2>&1); done; done
for t in 1 2; do for x in c d; do (cd bench-$x; node bench.mjs $G --out $R/gpt2-$x-$t.json > $R/gpt2-$x-$t.txt 2>&1); done; done
(cd bench-d; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
cd $R
{ echo "== check"; grep -E "PASS|FAIL|Error" check.txt | sed -E 's/tiles .*: max/: max/' | head -30
  for f in c-1 d-1 c-2 d-2 gpt2-c-1 gpt2-d-1 gpt2-c-2 gpt2-d-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done
  echo "== peer-lab"; grep -E "graph|diff|Error" peer-lab.txt; echo "== peer-gpt2"; grep -E "graph|Error" peer-gpt2.txt
  echo "== breakdown d"; grep -E "@0.005|FAILED|Error|sweep R=8  |attention|Attention|between" breakdown-d.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
