set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in n; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
(cd bench-n; timeout 200 node bench.mjs --skip-kernels --rs 8 --model-size gpt2-small --data data/devils-dictionary.txt --steps 10 --trials 3 --warmup 2 --out $R/gpt2-breakdown.json > $R/gpt2-breakdown.txt 2>&1)
cd $R
{ echo "== gpt2-breakdown"; grep -E "FAILED|Error|sweep R=|^\||between|→" gpt2-breakdown.txt | head -60; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
