set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in p; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-p; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1)
(cd bench-p; node bench.mjs --skip-kernels --rs 8 $D --matmul-plain off --out $R/breakdown-off.json > $R/breakdown-off.txt 2>&1)
for t in 1 2; do
  (cd bench-p; node bench.mjs $S $D --out $R/s-on-$t.json > $R/s-on-$t.txt 2>&1)
  (cd bench-p; node bench.mjs $S $D --matmul-plain off --out $R/s-off-$t.json > $R/s-off-$t.txt 2>&1)
done
(cd bench-p; python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
for t in 1 2; do
  (cd bench-p; node bench.mjs $G --out $R/gpt2-on-$t.json > $R/gpt2-on-$t.txt 2>&1)
  (cd bench-p; node bench.mjs $G --matmul-plain off --out $R/gpt2-off-$t.json > $R/gpt2-off-$t.txt 2>&1)
done
(cd bench-p; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
cd $R
{ for f in s-on-1 s-off-1 s-on-2 s-off-2 gpt2-on-1 gpt2-off-1 gpt2-on-2 gpt2-off-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done
  echo "== peer-lab"; grep -E "graph|diff|Error|@0.005" peer-lab.txt
  echo "== peer-gpt2"; grep -E "graph|Error" peer-gpt2.txt
  for f in breakdown breakdown-off; do echo "== $f"; grep -E "@0.005|FAILED|Error|sweep R=|^\| (adamw|riemannian) |between|→|^\| attention|^\| matmulWideVec4" $f.txt | head -30; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
