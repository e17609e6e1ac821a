set -u
R=$OUT/raw; mkdir -p $R
cd .work/bench-e
gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 4,8"
for t in 1 2 3; do node bench.mjs $S $D --out $R/k16-$t.json > $R/k16-$t.txt 2>&1; node bench.mjs $S $D --matmul-mid-tile 128x96 --out $R/m96-$t.json > $R/m96-$t.txt 2>&1; done
node bench.mjs --skip-kernels --rs 8 $D --matmul-mid-tile 128x96 --out $R/breakdown-m96.json > $R/breakdown-m96.txt 2>&1
cd $R
{ for f in k16-1 m96-1 k16-2 m96-2 k16-3 m96-3; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; echo "== breakdown 128x96"; grep -E "@0.005|FAILED|Error|sweep R=8|768|between" breakdown-m96.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
