set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in f; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,2,4,8"
O="--split-k-own-sum-min-tiles"
(cd bench-f; node bench.mjs --list-dispatches --rs 1,8 $D $O 96 > $R/dispatches-96.txt 2>&1)
for t in 1 2; do for m in never 128 96; do (cd bench-f; node bench.mjs $S $D $O $m --out $R/s-$m-$t.json > $R/s-$m-$t.txt 2>&1); done; done
(cd bench-f; node bench.mjs --skip-kernels --rs 8 $D $O 96 --out $R/breakdown-96.json > $R/breakdown-96.txt 2>&1)
(cd bench-f; python3 torch_batched.py --rs 1,8 --modes graph --steps 120 --trials 3 --check $R/breakdown-96.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
cd $R
{ grep -E "dispatches$" dispatches-96.txt; for m in never 128 96; do for t in 1 2; do f=s-$m-$t; echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; done
  echo "== peer-lab"; grep -E "graph|diff|Error|@0.005" peer-lab.txt
  echo "== breakdown-96"; grep -E "@0.005|FAILED|Error|sweep R=|^\| (adamw|riemannian|sgd|loraplus)|between|→|matmulWideVec4 NN (1024|4×1024|2×1024)|matmulSplitKSum" breakdown-96.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
