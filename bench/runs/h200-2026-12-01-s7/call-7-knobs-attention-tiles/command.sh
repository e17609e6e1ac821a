set -u
R=$OUT/raw; mkdir -p $R
cd .work/bench-j
gunzip -f bench.mjs.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,64"
node bench.mjs attention-passes-tiles --out $R/tiles.json > $R/tiles.txt 2>&1
node bench.mjs $S $D --out $R/default-1.json > $R/default-1.txt 2>&1
for t in 32 64 128; do node bench.mjs $S $D --ln-sum-tpr $t --out $R/tpr$t.json > $R/tpr$t.txt 2>&1; done
node bench.mjs $S $D --error-scopes window --out $R/window.json > $R/window.txt 2>&1
node bench.mjs $S $D --out $R/default-2.json > $R/default-2.txt 2>&1
cd $R
{ echo "== tiles"; grep -v "^\s*$" tiles.txt | tail -40; for f in default-1 tpr32 tpr64 tpr128 window default-2; do echo "== $f"; grep -E "sweep R=|host|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//; s/an empty.*//'; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
