set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in u; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
A="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,2"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-u; node bench.mjs --list-dispatches --rs 1,2,8 --batch 8 --seq 128 $D --out $R/list.json > $R/list.txt 2>&1)
(cd bench-u; node bench.mjs --list-dispatches --rs 1 --batch 8 --seq 128 $D --dfc-fold off --out $R/list-off.json > $R/list-off.txt 2>&1)
(cd bench-u; node bench.mjs --list-dispatches --rs 8 --model-size gpt2-small --data data/devils-dictionary.txt --out $R/list-gpt2.json > $R/list-gpt2.txt 2>&1)
(cd bench-u; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1)
for t in 1 2; do
  (cd bench-u; node bench.mjs $A $D --out $R/ab-on-$t.json > $R/ab-on-$t.txt 2>&1)
  (cd bench-u; node bench.mjs $A $D --dfc-fold off --out $R/ab-off-$t.json > $R/ab-off-$t.txt 2>&1)
done
(cd bench-u; node bench.mjs $S $D --out $R/s-1.json > $R/s-1.txt 2>&1)
(cd bench-u; python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
(cd bench-u; node bench.mjs $S $D --out $R/s-2.json > $R/s-2.txt 2>&1)
(cd bench-u; node bench.mjs $G --out $R/gpt2.json > $R/gpt2.txt 2>&1)
(cd bench-u; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
cd $R
{ grep dispatches list.txt list-off.txt list-gpt2.txt
  for f in ab-on-1 ab-off-1 ab-on-2 ab-off-2 s-1 s-2 gpt2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done
  echo "== peer-lab"; grep -E "graph|diff|Error|@0.005" peer-lab.txt
  echo "== peer-gpt2"; grep -E "graph|Error" peer-gpt2.txt
  echo "== breakdown"; grep -E "@0.005|FAILED|Error|sweep R=|^\| (adamw|riemannian) |between|→|^\| attention|SplitKSum 1024|NN 4×1024×256×256" breakdown.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
