set -u
R=$OUT/raw; mkdir -p $R
cd .work
(cd bench-e; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data)
D="--data data/devils-dictionary.txt --model model/model.onnx"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-e; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
for t in 1 2; do (cd bench-e; node bench.mjs $G --out $R/gpt2-e-$t.json > $R/gpt2-e-$t.txt 2>&1); done
(cd bench-e; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2-b.json > $R/peer-gpt2-b.txt 2>&1)
(cd bench-e; python3 torch_batched.py --rs 1,8 --modes graph --steps 120 --trials 5 --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
for t in 1 2; do (cd bench-e; node bench.mjs --sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8 $D --out $R/e-$t.json > $R/e-$t.txt 2>&1); done
cd $R
{ for f in gpt2-e-1 gpt2-e-2 e-1 e-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done
  for f in peer-gpt2 peer-gpt2-b peer-lab; do echo "== $f"; grep -E "graph|Error" $f.txt; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
