set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in k; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
S1="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
for f in 1 0; do (cd bench-k; node bench.mjs --skip-kernels --rs 8 $D --attention-square-warps $f --out $R/breakdown-$f.json > $R/breakdown-$f.txt 2>&1); done
for t in 1 2; do for f in 0 1; do (cd bench-k; node bench.mjs $S $D --attention-square-warps $f --out $R/s-$f-$t.json > $R/s-$f-$t.txt 2>&1); done; done
for t in 1 2; do (cd bench-k; node bench.mjs $S1 $D --out $R/r1-kc16-$t.json > $R/r1-kc16-$t.txt 2>&1; node bench.mjs $S1 $D --attention-tiles v4:16,8,32 --out $R/r1-kc32-$t.json > $R/r1-kc32-$t.txt 2>&1); done
for f in 0 1; do (cd bench-k; node bench.mjs $G --attention-square-warps $f --out $R/gpt2-$f.json > $R/gpt2-$f.txt 2>&1); done
(cd bench-k; python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown-1.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
cd $R
{ for f in s-0-1 s-1-1 s-0-2 s-1-2 r1-kc16-1 r1-kc32-1 r1-kc16-2 r1-kc32-2 gpt2-0 gpt2-1; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done
  echo "== peer-lab"; grep -E "graph|diff|Error|@0.005" peer-lab.txt
  for f in 1 0; do echo "== breakdown-$f"; grep -E "@0.005|FAILED|Error|sweep R=|^\| (adamw|riemannian) |between|→|^\| attention" breakdown-$f.txt; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
