set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in g h; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,2,4"
(cd bench-g; node bench.mjs attention-check --shape 8,128,4,64 --variant passes > $R/check.txt 2>&1)
for t in 1 2 3; do for x in h g; do (cd bench-$x; node bench.mjs $S $D --out $R/$x-$t.json > $R/$x-$t.txt 2>&1); done; done
cd $R
{ grep -E "attention check|Error" check.txt; for f in h-1 g-1 h-2 g-2 h-3 g-3; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
