set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in i; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
for f in fused passes; do (cd bench-i; node bench.mjs --skip-kernels --rs 8 $D --attention-forward $f --out $R/breakdown-$f.json > $R/breakdown-$f.txt 2>&1); done
for t in 1 2; do for f in passes fused; do (cd bench-i; node bench.mjs $S $D --attention-forward $f --out $R/s-$f-$t.json > $R/s-$f-$t.txt 2>&1); done; done
for f in passes fused; do (cd bench-i; node bench.mjs $G --attention-forward $f --out $R/gpt2-$f.json > $R/gpt2-$f.txt 2>&1); done
(cd bench-i; python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown-fused.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
cd $R
{ for f in s-passes-1 s-fused-1 s-passes-2 s-fused-2 gpt2-passes gpt2-fused; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done
  echo "== peer-lab"; grep -E "graph|diff|Error|@0.005" peer-lab.txt
  for f in fused passes; do echo "== breakdown-$f"; grep -E "@0.005|FAILED|Error|sweep R=|^\| (adamw|riemannian) |between|→|^\| attention" breakdown-$f.txt; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
