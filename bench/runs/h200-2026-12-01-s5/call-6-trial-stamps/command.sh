set -u
R=$OUT/raw; mkdir -p $R
cd .work
gunzip -f bench/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench/model; ln -sfn ../../public/datasets bench/data
cd bench
D="--data data/devils-dictionary.txt --model model/model.onnx --sweep-only --warmup 10 --trial-stamps"
node bench.mjs $D --steps 30 --trials 6 --rs 1,8,64 --out $R/ts30.json > $R/ts30.txt 2>&1
node bench.mjs $D --steps 120 --trials 3 --rs 8 --out $R/ts120.json > $R/ts120.txt 2>&1
cd $R
{ grep -A10 "sweep R=" ts30.txt ts120.txt | grep "sweep R=\|trial\|host"; } > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
