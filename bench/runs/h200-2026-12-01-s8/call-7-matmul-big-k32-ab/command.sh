set -u
R=$OUT/raw; mkdir -p $R
cd .work/bench-k
gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
for t in 1 2; do node bench.mjs $G --out $R/k16-$t.json > $R/k16-$t.txt 2>&1; node bench.mjs $G --matmul-big-tile k32 --out $R/k32-$t.json > $R/k32-$t.txt 2>&1; done
cd $R
{ for f in k16-1 k32-1 k16-2 k32-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
