set -u
R=$OUT/raw; mkdir -p $R
cd .work/bench-t; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 60 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
for t in 1 2; do for x in off on; do node bench.mjs $S $D --weights-t $x --out $R/$x-$t.json > $R/$x-$t.txt 2>&1; done; done
for t in 1 2; do for x in off on; do node bench.mjs $G --weights-t $x --out $R/gpt2-$x-$t.json > $R/gpt2-$x-$t.txt 2>&1; done; done
for x in off on; do node bench.mjs --skip-kernels --rs 8 $D --weights-t $x --out $R/breakdown-$x.json > $R/breakdown-$x.txt 2>&1; done
cd $R
{ for f in off-1 on-1 off-2 on-2 gpt2-off-1 gpt2-on-1 gpt2-off-2 gpt2-on-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; for x in off on; do echo "== breakdown $x"; grep -E "@0.005|FAILED|Error|sweep R=8  |matmulWideVec4 N" breakdown-$x.txt; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
