set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in a c; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,64"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
for t in 1 2; do for x in a c; do (cd bench-$x; node bench.mjs $S $D --out $R/$x-$t.json > $R/$x-$t.txt 2>&1); done; done
(cd bench-c; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1)
for x in a c; do (cd bench-$x; node bench.mjs $G --out $R/gpt2-$x.json > $R/gpt2-$x.txt 2>&1); done
(cd bench-c; node bench.mjs $G --attention passes --out $R/gpt2-c-passes.json > $R/gpt2-c-passes.txt 2>&1)
(cd bench-a; node bench.mjs $G --out $R/gpt2-a2.json > $R/gpt2-a2.txt 2>&1)
(cd bench-c; node bench.mjs $G --out $R/gpt2-c2.json > $R/gpt2-c2.txt 2>&1)
cd $R
{ for f in a-1 c-1 a-2 c-2 gpt2-a gpt2-c gpt2-c-passes gpt2-a2 gpt2-c2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; echo "== breakdown"; grep -E "@0.005|FAILED|Error|sweep R=8|riemannian-adamw  |between|Riemannian|Largest|Attention|Dispatches|attention" breakdown.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
