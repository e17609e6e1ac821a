set -u
R=$OUT/raw; mkdir -p $R
cd .work
gunzip -f bench/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench/model; ln -sfn ../../public/datasets bench/data
cd bench
D="--data data/devils-dictionary.txt --model model/model.onnx --sweep-only --warmup 10"
node bench.mjs $D --steps 30 --trials 5 --rs 1,8,64 --out $R/host.json > $R/host.txt 2>&1
cd $R
{ grep -A1 "sweep R=" host.txt; } > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
